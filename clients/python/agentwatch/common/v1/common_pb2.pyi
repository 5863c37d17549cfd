from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DAY_OF_WEEK_FRIDAY: DayOfWeek
DAY_OF_WEEK_MONDAY: DayOfWeek
DAY_OF_WEEK_SATURDAY: DayOfWeek
DAY_OF_WEEK_SUNDAY: DayOfWeek
DAY_OF_WEEK_THURSDAY: DayOfWeek
DAY_OF_WEEK_TUESDAY: DayOfWeek
DAY_OF_WEEK_UNSPECIFIED: DayOfWeek
DAY_OF_WEEK_WEDNESDAY: DayOfWeek
DESCRIPTOR: _descriptor.FileDescriptor
HEALTH_STATUS_CRITICAL: HealthStatus
HEALTH_STATUS_HEALTHY: HealthStatus
HEALTH_STATUS_UNKNOWN: HealthStatus
HEALTH_STATUS_UNSPECIFIED: HealthStatus
HEALTH_STATUS_WARNING: HealthStatus
MATCH_OP_EQUAL: MatchOp
MATCH_OP_NOT_EQUAL: MatchOp
MATCH_OP_NOT_REGEX: MatchOp
MATCH_OP_REGEX: MatchOp
MATCH_OP_UNSPECIFIED: MatchOp
SEVERITY_P0: Severity
SEVERITY_P1: Severity
SEVERITY_P2: Severity
SEVERITY_P3: Severity
SEVERITY_UNSPECIFIED: Severity

class LabelMatcher(_message.Message):
    __slots__ = ["name", "op", "value"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    op: MatchOp
    value: str
    def __init__(self, name: _Optional[str] = ..., op: _Optional[_Union[MatchOp, str]] = ..., value: _Optional[str] = ...) -> None: ...

class Scope(_message.Message):
    __slots__ = ["agent", "model", "provider", "service", "tags", "team", "tenant", "workflow"]
    class TagsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    AGENT_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    agent: str
    model: str
    provider: str
    service: str
    tags: _containers.ScalarMap[str, str]
    team: str
    tenant: str
    workflow: str
    def __init__(self, tenant: _Optional[str] = ..., team: _Optional[str] = ..., workflow: _Optional[str] = ..., agent: _Optional[str] = ..., model: _Optional[str] = ..., provider: _Optional[str] = ..., service: _Optional[str] = ..., tags: _Optional[_Mapping[str, str]] = ...) -> None: ...

class TimeRange(_message.Message):
    __slots__ = ["end", "start"]
    END_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    end: _timestamp_pb2.Timestamp
    start: _timestamp_pb2.Timestamp
    def __init__(self, start: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WeeklyWindow(_message.Message):
    __slots__ = ["days", "end_minute", "start_minute", "time_zone"]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    END_MINUTE_FIELD_NUMBER: _ClassVar[int]
    START_MINUTE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    days: _containers.RepeatedScalarFieldContainer[DayOfWeek]
    end_minute: int
    start_minute: int
    time_zone: str
    def __init__(self, days: _Optional[_Iterable[_Union[DayOfWeek, str]]] = ..., start_minute: _Optional[int] = ..., end_minute: _Optional[int] = ..., time_zone: _Optional[str] = ...) -> None: ...

class MatchOp(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Severity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class HealthStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class DayOfWeek(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
