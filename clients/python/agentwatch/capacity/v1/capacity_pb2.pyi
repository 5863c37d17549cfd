from agentwatch.common.v1 import common_pb2 as _common_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import empty_pb2 as _empty_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
RECOMMENDATION_KIND_CONNECTION_POOL: RecommendationKind
RECOMMENDATION_KIND_HPA_TARGET: RecommendationKind
RECOMMENDATION_KIND_OVER_PROVISIONED: RecommendationKind
RECOMMENDATION_KIND_QUOTA_INCREASE: RecommendationKind
RECOMMENDATION_KIND_SCALE_REPLICAS: RecommendationKind
RECOMMENDATION_KIND_SCHEDULED_SCALING: RecommendationKind
RECOMMENDATION_KIND_UNSPECIFIED: RecommendationKind
RECOMMENDATION_KIND_VERTICAL_REQUESTS: RecommendationKind
RESOURCE_KIND_DB_CONNECTIONS: ResourceKind
RESOURCE_KIND_QUEUE: ResourceKind
RESOURCE_KIND_REPLICAS: ResourceKind
RESOURCE_KIND_REQUEST_QUOTA_RPM: ResourceKind
RESOURCE_KIND_TOKEN_QUOTA_TPM: ResourceKind
RESOURCE_KIND_UNSPECIFIED: ResourceKind

class Changepoint(_message.Message):
    __slots__ = ["level_after", "level_before", "time"]
    LEVEL_AFTER_FIELD_NUMBER: _ClassVar[int]
    LEVEL_BEFORE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    level_after: float
    level_before: float
    time: _timestamp_pb2.Timestamp
    def __init__(self, time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., level_before: _Optional[float] = ..., level_after: _Optional[float] = ...) -> None: ...

class CreateResourceRequest(_message.Message):
    __slots__ = ["request_id", "resource"]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    resource: Resource
    def __init__(self, resource: _Optional[_Union[Resource, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteResourceRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ForecastPoint(_message.Message):
    __slots__ = ["lower_80", "lower_95", "time", "upper_80", "upper_95", "value"]
    LOWER_80_FIELD_NUMBER: _ClassVar[int]
    LOWER_95_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    UPPER_80_FIELD_NUMBER: _ClassVar[int]
    UPPER_95_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    lower_80: float
    lower_95: float
    time: _timestamp_pb2.Timestamp
    upper_80: float
    upper_95: float
    value: float
    def __init__(self, time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., value: _Optional[float] = ..., lower_80: _Optional[float] = ..., upper_80: _Optional[float] = ..., lower_95: _Optional[float] = ..., upper_95: _Optional[float] = ...) -> None: ...

class GetForecastRequest(_message.Message):
    __slots__ = ["history", "horizon", "matchers", "metric", "model", "step", "tenant"]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    HORIZON_FIELD_NUMBER: _ClassVar[int]
    MATCHERS_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    history: _duration_pb2.Duration
    horizon: _duration_pb2.Duration
    matchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.LabelMatcher]
    metric: str
    model: str
    step: _duration_pb2.Duration
    tenant: str
    def __init__(self, metric: _Optional[str] = ..., matchers: _Optional[_Iterable[_Union[_common_pb2.LabelMatcher, _Mapping]]] = ..., tenant: _Optional[str] = ..., horizon: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., step: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., history: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., model: _Optional[str] = ...) -> None: ...

class GetForecastResponse(_message.Message):
    __slots__ = ["backtest_mase", "backtest_smape", "candidates", "history_points", "model", "points"]
    BACKTEST_MASE_FIELD_NUMBER: _ClassVar[int]
    BACKTEST_SMAPE_FIELD_NUMBER: _ClassVar[int]
    CANDIDATES_FIELD_NUMBER: _ClassVar[int]
    HISTORY_POINTS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    backtest_mase: float
    backtest_smape: float
    candidates: _containers.RepeatedCompositeFieldContainer[ModelScore]
    history_points: int
    model: str
    points: _containers.RepeatedCompositeFieldContainer[ForecastPoint]
    def __init__(self, points: _Optional[_Iterable[_Union[ForecastPoint, _Mapping]]] = ..., model: _Optional[str] = ..., backtest_mase: _Optional[float] = ..., backtest_smape: _Optional[float] = ..., candidates: _Optional[_Iterable[_Union[ModelScore, _Mapping]]] = ..., history_points: _Optional[int] = ...) -> None: ...

class GetRecommendationsRequest(_message.Message):
    __slots__ = ["horizon", "page_size", "page_token", "resource_id", "scope"]
    HORIZON_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    horizon: _duration_pb2.Duration
    page_size: int
    page_token: str
    resource_id: str
    scope: _common_pb2.Scope
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., resource_id: _Optional[str] = ..., horizon: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetRecommendationsResponse(_message.Message):
    __slots__ = ["next_page_token", "recommendations"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDATIONS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    recommendations: _containers.RepeatedCompositeFieldContainer[Recommendation]
    def __init__(self, recommendations: _Optional[_Iterable[_Union[Recommendation, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetResourceRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetUsagePatternsRequest(_message.Message):
    __slots__ = ["history", "matchers", "metric", "resource_id", "tenant", "time_zone"]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    MATCHERS_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    history: _duration_pb2.Duration
    matchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.LabelMatcher]
    metric: str
    resource_id: str
    tenant: str
    time_zone: str
    def __init__(self, metric: _Optional[str] = ..., matchers: _Optional[_Iterable[_Union[_common_pb2.LabelMatcher, _Mapping]]] = ..., tenant: _Optional[str] = ..., resource_id: _Optional[str] = ..., history: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., time_zone: _Optional[str] = ...) -> None: ...

class ListResourcesRequest(_message.Message):
    __slots__ = ["kind", "page_size", "page_token", "tenant"]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    kind: ResourceKind
    page_size: int
    page_token: str
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., kind: _Optional[_Union[ResourceKind, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListResourcesResponse(_message.Message):
    __slots__ = ["next_page_token", "resources"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    resources: _containers.RepeatedCompositeFieldContainer[Resource]
    def __init__(self, resources: _Optional[_Iterable[_Union[Resource, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ModelScore(_message.Message):
    __slots__ = ["mase", "model", "smape"]
    MASE_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SMAPE_FIELD_NUMBER: _ClassVar[int]
    mase: float
    model: str
    smape: float
    def __init__(self, model: _Optional[str] = ..., mase: _Optional[float] = ..., smape: _Optional[float] = ...) -> None: ...

class Recommendation(_message.Message):
    __slots__ = ["breach_time", "confidence", "current", "forecast_peak", "kind", "peak_time", "reason", "recommended", "resource", "resource_name", "schedule", "unit", "utilization", "valid_until"]
    BREACH_TIME_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    FORECAST_PEAK_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    PEAK_TIME_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RECOMMENDED_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_NAME_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    UTILIZATION_FIELD_NUMBER: _ClassVar[int]
    VALID_UNTIL_FIELD_NUMBER: _ClassVar[int]
    breach_time: _timestamp_pb2.Timestamp
    confidence: float
    current: float
    forecast_peak: float
    kind: RecommendationKind
    peak_time: _timestamp_pb2.Timestamp
    reason: str
    recommended: float
    resource: str
    resource_name: str
    schedule: _containers.RepeatedCompositeFieldContainer[ScheduledScalingStep]
    unit: str
    utilization: float
    valid_until: _timestamp_pb2.Timestamp
    def __init__(self, resource: _Optional[str] = ..., kind: _Optional[_Union[RecommendationKind, str]] = ..., current: _Optional[float] = ..., recommended: _Optional[float] = ..., reason: _Optional[str] = ..., confidence: _Optional[float] = ..., valid_until: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., utilization: _Optional[float] = ..., unit: _Optional[str] = ..., forecast_peak: _Optional[float] = ..., peak_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., breach_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., schedule: _Optional[_Iterable[_Union[ScheduledScalingStep, _Mapping]]] = ..., resource_name: _Optional[str] = ...) -> None: ...

class Resource(_message.Message):
    __slots__ = ["alert_horizon", "alert_severity", "create_time", "current", "headroom", "id", "kind", "labels", "matchers", "max", "metric", "min", "name", "per_unit_capacity", "request_unit", "stateful", "target_utilization", "tenant", "update_time"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ALERT_HORIZON_FIELD_NUMBER: _ClassVar[int]
    ALERT_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CURRENT_FIELD_NUMBER: _ClassVar[int]
    HEADROOM_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MATCHERS_FIELD_NUMBER: _ClassVar[int]
    MAX_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    MIN_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PER_UNIT_CAPACITY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_UNIT_FIELD_NUMBER: _ClassVar[int]
    STATEFUL_FIELD_NUMBER: _ClassVar[int]
    TARGET_UTILIZATION_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    alert_horizon: _duration_pb2.Duration
    alert_severity: _common_pb2.Severity
    create_time: _timestamp_pb2.Timestamp
    current: float
    headroom: float
    id: str
    kind: ResourceKind
    labels: _containers.ScalarMap[str, str]
    matchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.LabelMatcher]
    max: float
    metric: str
    min: float
    name: str
    per_unit_capacity: float
    request_unit: str
    stateful: bool
    target_utilization: float
    tenant: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., tenant: _Optional[str] = ..., kind: _Optional[_Union[ResourceKind, str]] = ..., metric: _Optional[str] = ..., matchers: _Optional[_Iterable[_Union[_common_pb2.LabelMatcher, _Mapping]]] = ..., per_unit_capacity: _Optional[float] = ..., target_utilization: _Optional[float] = ..., current: _Optional[float] = ..., min: _Optional[float] = ..., max: _Optional[float] = ..., labels: _Optional[_Mapping[str, str]] = ..., alert_horizon: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., alert_severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., stateful: bool = ..., request_unit: _Optional[str] = ..., headroom: _Optional[float] = ...) -> None: ...

class ScheduledScalingStep(_message.Message):
    __slots__ = ["value", "window"]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    value: float
    window: _common_pb2.WeeklyWindow
    def __init__(self, window: _Optional[_Union[_common_pb2.WeeklyWindow, _Mapping]] = ..., value: _Optional[float] = ...) -> None: ...

class UpdateResourceRequest(_message.Message):
    __slots__ = ["resource", "update_mask"]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    resource: Resource
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, resource: _Optional[_Union[Resource, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UsagePatterns(_message.Message):
    __slots__ = ["changepoints", "day_of_week", "growth_rate_per_week", "history_points", "hour_of_day", "peak_day", "peak_hours", "range"]
    CHANGEPOINTS_FIELD_NUMBER: _ClassVar[int]
    DAY_OF_WEEK_FIELD_NUMBER: _ClassVar[int]
    GROWTH_RATE_PER_WEEK_FIELD_NUMBER: _ClassVar[int]
    HISTORY_POINTS_FIELD_NUMBER: _ClassVar[int]
    HOUR_OF_DAY_FIELD_NUMBER: _ClassVar[int]
    PEAK_DAY_FIELD_NUMBER: _ClassVar[int]
    PEAK_HOURS_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    changepoints: _containers.RepeatedCompositeFieldContainer[Changepoint]
    day_of_week: _containers.RepeatedScalarFieldContainer[float]
    growth_rate_per_week: float
    history_points: int
    hour_of_day: _containers.RepeatedScalarFieldContainer[float]
    peak_day: _common_pb2.DayOfWeek
    peak_hours: _containers.RepeatedScalarFieldContainer[int]
    range: _common_pb2.TimeRange
    def __init__(self, hour_of_day: _Optional[_Iterable[float]] = ..., day_of_week: _Optional[_Iterable[float]] = ..., peak_hours: _Optional[_Iterable[int]] = ..., peak_day: _Optional[_Union[_common_pb2.DayOfWeek, str]] = ..., growth_rate_per_week: _Optional[float] = ..., changepoints: _Optional[_Iterable[_Union[Changepoint, _Mapping]]] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., history_points: _Optional[int] = ...) -> None: ...

class ResourceKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class RecommendationKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
