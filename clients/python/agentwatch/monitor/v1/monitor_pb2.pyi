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

ACTIVE_ALERT_STATE_FIRING: ActiveAlertState
ACTIVE_ALERT_STATE_PENDING: ActiveAlertState
ACTIVE_ALERT_STATE_UNSPECIFIED: ActiveAlertState
AGGREGATION_AVG: Aggregation
AGGREGATION_COUNT: Aggregation
AGGREGATION_MAX: Aggregation
AGGREGATION_MIN: Aggregation
AGGREGATION_P50: Aggregation
AGGREGATION_P95: Aggregation
AGGREGATION_P99: Aggregation
AGGREGATION_RATE: Aggregation
AGGREGATION_SUM: Aggregation
AGGREGATION_UNSPECIFIED: Aggregation
COMPARISON_GREATER_OR_EQUAL: Comparison
COMPARISON_GREATER_THAN: Comparison
COMPARISON_LESS_OR_EQUAL: Comparison
COMPARISON_LESS_THAN: Comparison
COMPARISON_UNSPECIFIED: Comparison
DESCRIPTOR: _descriptor.FileDescriptor
DIRECTION_HIGHER_IS_WORSE: Direction
DIRECTION_LOWER_IS_WORSE: Direction
DIRECTION_UNSPECIFIED: Direction
REPORT_PERIOD_DAY: ReportPeriod
REPORT_PERIOD_MONTH: ReportPeriod
REPORT_PERIOD_UNSPECIFIED: ReportPeriod
REPORT_PERIOD_WEEK: ReportPeriod
RUN_STATUS_CANCELLED: RunStatus
RUN_STATUS_FAILED: RunStatus
RUN_STATUS_SUCCEEDED: RunStatus
RUN_STATUS_TIMED_OUT: RunStatus
RUN_STATUS_UNSPECIFIED: RunStatus
SLI_KIND_AVAILABILITY: SliKind
SLI_KIND_LATENCY: SliKind
SLI_KIND_UNSPECIFIED: SliKind
SLO_SUBJECT_AGENT_EXECUTIONS: SloSubject
SLO_SUBJECT_LLM_CALLS: SloSubject
SLO_SUBJECT_UNSPECIFIED: SloSubject
SLO_SUBJECT_WORKFLOW_RUNS: SloSubject

class ActiveAlert(_message.Message):
    __slots__ = ["active_since", "annotations", "fingerprint", "labels", "last_evaluation_time", "name", "rule_id", "severity", "starts_at", "state", "tenant", "value"]
    class AnnotationsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ACTIVE_SINCE_FIELD_NUMBER: _ClassVar[int]
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LAST_EVALUATION_TIME_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RULE_ID_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    active_since: _timestamp_pb2.Timestamp
    annotations: _containers.ScalarMap[str, str]
    fingerprint: str
    labels: _containers.ScalarMap[str, str]
    last_evaluation_time: _timestamp_pb2.Timestamp
    name: str
    rule_id: str
    severity: _common_pb2.Severity
    starts_at: _timestamp_pb2.Timestamp
    state: ActiveAlertState
    tenant: str
    value: float
    def __init__(self, fingerprint: _Optional[str] = ..., rule_id: _Optional[str] = ..., name: _Optional[str] = ..., tenant: _Optional[str] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., state: _Optional[_Union[ActiveAlertState, str]] = ..., value: _Optional[float] = ..., active_since: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., starts_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., last_evaluation_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AgentExecution(_message.Message):
    __slots__ = ["agent", "duration", "retries", "run_id", "status", "workflow"]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    agent: str
    duration: _duration_pb2.Duration
    retries: int
    run_id: str
    status: RunStatus
    workflow: str
    def __init__(self, agent: _Optional[str] = ..., workflow: _Optional[str] = ..., run_id: _Optional[str] = ..., status: _Optional[_Union[RunStatus, str]] = ..., duration: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., retries: _Optional[int] = ...) -> None: ...

class AlertRule(_message.Message):
    __slots__ = ["annotations", "anomaly", "create_time", "description", "disabled", "for_duration", "hysteresis", "id", "labels", "name", "severity", "tenant", "threshold", "update_time"]
    class AnnotationsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ANNOTATIONS_FIELD_NUMBER: _ClassVar[int]
    ANOMALY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    FOR_DURATION_FIELD_NUMBER: _ClassVar[int]
    HYSTERESIS_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    annotations: _containers.ScalarMap[str, str]
    anomaly: AnomalyCondition
    create_time: _timestamp_pb2.Timestamp
    description: str
    disabled: bool
    for_duration: _duration_pb2.Duration
    hysteresis: Hysteresis
    id: str
    labels: _containers.ScalarMap[str, str]
    name: str
    severity: _common_pb2.Severity
    tenant: str
    threshold: ThresholdCondition
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., tenant: _Optional[str] = ..., description: _Optional[str] = ..., threshold: _Optional[_Union[ThresholdCondition, _Mapping]] = ..., anomaly: _Optional[_Union[AnomalyCondition, _Mapping]] = ..., for_duration: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., hysteresis: _Optional[_Union[Hysteresis, _Mapping]] = ..., disabled: bool = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class AnomalyCondition(_message.Message):
    __slots__ = ["aggregation", "group_by", "matchers", "metric", "min_history", "score_threshold"]
    AGGREGATION_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    MATCHERS_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    MIN_HISTORY_FIELD_NUMBER: _ClassVar[int]
    SCORE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    aggregation: Aggregation
    group_by: _containers.RepeatedScalarFieldContainer[str]
    matchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.LabelMatcher]
    metric: str
    min_history: _duration_pb2.Duration
    score_threshold: float
    def __init__(self, metric: _Optional[str] = ..., matchers: _Optional[_Iterable[_Union[_common_pb2.LabelMatcher, _Mapping]]] = ..., aggregation: _Optional[_Union[Aggregation, str]] = ..., group_by: _Optional[_Iterable[str]] = ..., score_threshold: _Optional[float] = ..., min_history: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class BurnRate(_message.Message):
    __slots__ = ["burn_rate", "window"]
    BURN_RATE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    burn_rate: float
    window: _duration_pb2.Duration
    def __init__(self, window: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., burn_rate: _Optional[float] = ...) -> None: ...

class BurnRateWindow(_message.Message):
    __slots__ = ["burn_rate", "long_window", "severity", "short_window"]
    BURN_RATE_FIELD_NUMBER: _ClassVar[int]
    LONG_WINDOW_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    SHORT_WINDOW_FIELD_NUMBER: _ClassVar[int]
    burn_rate: float
    long_window: _duration_pb2.Duration
    severity: _common_pb2.Severity
    short_window: _duration_pb2.Duration
    def __init__(self, long_window: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., short_window: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., burn_rate: _Optional[float] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ...) -> None: ...

class CreateAlertRuleRequest(_message.Message):
    __slots__ = ["request_id", "rule"]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    rule: AlertRule
    def __init__(self, rule: _Optional[_Union[AlertRule, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateSloRequest(_message.Message):
    __slots__ = ["request_id", "slo"]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SLO_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    slo: Slo
    def __init__(self, slo: _Optional[_Union[Slo, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteAlertRuleRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteHealthThresholdsRequest(_message.Message):
    __slots__ = ["scope"]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ...) -> None: ...

class DeleteSloRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class Event(_message.Message):
    __slots__ = ["agent_execution", "event_id", "labels", "llm_call", "metric_sample", "quality_score", "resource_sample", "tenant", "time", "workflow_run"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    AGENT_EXECUTION_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LLM_CALL_FIELD_NUMBER: _ClassVar[int]
    METRIC_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    QUALITY_SCORE_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_SAMPLE_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUN_FIELD_NUMBER: _ClassVar[int]
    agent_execution: AgentExecution
    event_id: str
    labels: _containers.ScalarMap[str, str]
    llm_call: LlmCall
    metric_sample: MetricSample
    quality_score: QualityScore
    resource_sample: ResourceSample
    tenant: str
    time: _timestamp_pb2.Timestamp
    workflow_run: WorkflowRun
    def __init__(self, event_id: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., tenant: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., workflow_run: _Optional[_Union[WorkflowRun, _Mapping]] = ..., agent_execution: _Optional[_Union[AgentExecution, _Mapping]] = ..., llm_call: _Optional[_Union[LlmCall, _Mapping]] = ..., resource_sample: _Optional[_Union[ResourceSample, _Mapping]] = ..., metric_sample: _Optional[_Union[MetricSample, _Mapping]] = ..., quality_score: _Optional[_Union[QualityScore, _Mapping]] = ...) -> None: ...

class GetAlertRuleRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetHealthRequest(_message.Message):
    __slots__ = ["scope", "window"]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    window: _duration_pb2.Duration
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., window: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class GetHealthThresholdsRequest(_message.Message):
    __slots__ = ["scope"]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ...) -> None: ...

class GetSloReportRequest(_message.Message):
    __slots__ = ["id", "period", "range", "time_zone"]
    ID_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    id: str
    period: ReportPeriod
    range: _common_pb2.TimeRange
    time_zone: str
    def __init__(self, id: _Optional[str] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., period: _Optional[_Union[ReportPeriod, str]] = ..., time_zone: _Optional[str] = ...) -> None: ...

class GetSloReportResponse(_message.Message):
    __slots__ = ["periods"]
    PERIODS_FIELD_NUMBER: _ClassVar[int]
    periods: _containers.RepeatedCompositeFieldContainer[SloPeriodReport]
    def __init__(self, periods: _Optional[_Iterable[_Union[SloPeriodReport, _Mapping]]] = ...) -> None: ...

class GetSloRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetSloStatusRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class HealthReport(_message.Message):
    __slots__ = ["as_of", "overall_status", "scopes"]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    OVERALL_STATUS_FIELD_NUMBER: _ClassVar[int]
    SCOPES_FIELD_NUMBER: _ClassVar[int]
    as_of: _timestamp_pb2.Timestamp
    overall_status: _common_pb2.HealthStatus
    scopes: _containers.RepeatedCompositeFieldContainer[ScopeHealth]
    def __init__(self, overall_status: _Optional[_Union[_common_pb2.HealthStatus, str]] = ..., scopes: _Optional[_Iterable[_Union[ScopeHealth, _Mapping]]] = ..., as_of: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class HealthThresholds(_message.Message):
    __slots__ = ["scope", "thresholds", "update_time"]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    scope: _common_pb2.Scope
    thresholds: _containers.RepeatedCompositeFieldContainer[IndicatorThreshold]
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., thresholds: _Optional[_Iterable[_Union[IndicatorThreshold, _Mapping]]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Hysteresis(_message.Message):
    __slots__ = ["keep_firing_for", "resolve_threshold"]
    KEEP_FIRING_FOR_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    keep_firing_for: _duration_pb2.Duration
    resolve_threshold: float
    def __init__(self, resolve_threshold: _Optional[float] = ..., keep_firing_for: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Indicator(_message.Message):
    __slots__ = ["critical_threshold", "direction", "name", "sample_count", "status", "unit", "value", "warning_threshold"]
    CRITICAL_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_COUNT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    WARNING_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    critical_threshold: float
    direction: Direction
    name: str
    sample_count: int
    status: _common_pb2.HealthStatus
    unit: str
    value: float
    warning_threshold: float
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., unit: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.HealthStatus, str]] = ..., warning_threshold: _Optional[float] = ..., critical_threshold: _Optional[float] = ..., direction: _Optional[_Union[Direction, str]] = ..., sample_count: _Optional[int] = ...) -> None: ...

class IndicatorThreshold(_message.Message):
    __slots__ = ["critical", "direction", "disabled", "indicator", "warning"]
    CRITICAL_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    INDICATOR_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    critical: float
    direction: Direction
    disabled: bool
    indicator: str
    warning: float
    def __init__(self, indicator: _Optional[str] = ..., warning: _Optional[float] = ..., critical: _Optional[float] = ..., direction: _Optional[_Union[Direction, str]] = ..., disabled: bool = ...) -> None: ...

class IngestRequest(_message.Message):
    __slots__ = ["events", "producer_id", "sequence"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    PRODUCER_ID_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[Event]
    producer_id: str
    sequence: int
    def __init__(self, producer_id: _Optional[str] = ..., sequence: _Optional[int] = ..., events: _Optional[_Iterable[_Union[Event, _Mapping]]] = ...) -> None: ...

class IngestResponse(_message.Message):
    __slots__ = ["accepted", "duplicate", "sequence"]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicate: bool
    sequence: int
    def __init__(self, sequence: _Optional[int] = ..., accepted: _Optional[int] = ..., duplicate: bool = ...) -> None: ...

class ListActiveAlertsRequest(_message.Message):
    __slots__ = ["include_pending", "matchers", "page_size", "page_token", "severities", "tenant"]
    INCLUDE_PENDING_FIELD_NUMBER: _ClassVar[int]
    MATCHERS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SEVERITIES_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    include_pending: bool
    matchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.LabelMatcher]
    page_size: int
    page_token: str
    severities: _containers.RepeatedScalarFieldContainer[_common_pb2.Severity]
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., severities: _Optional[_Iterable[_Union[_common_pb2.Severity, str]]] = ..., matchers: _Optional[_Iterable[_Union[_common_pb2.LabelMatcher, _Mapping]]] = ..., include_pending: bool = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListActiveAlertsResponse(_message.Message):
    __slots__ = ["alerts", "next_page_token"]
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[ActiveAlert]
    next_page_token: str
    def __init__(self, alerts: _Optional[_Iterable[_Union[ActiveAlert, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListAlertRulesRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "tenant"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListAlertRulesResponse(_message.Message):
    __slots__ = ["next_page_token", "rules"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    rules: _containers.RepeatedCompositeFieldContainer[AlertRule]
    def __init__(self, rules: _Optional[_Iterable[_Union[AlertRule, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListHealthThresholdsRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "tenant"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListHealthThresholdsResponse(_message.Message):
    __slots__ = ["next_page_token", "thresholds"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    thresholds: _containers.RepeatedCompositeFieldContainer[HealthThresholds]
    def __init__(self, thresholds: _Optional[_Iterable[_Union[HealthThresholds, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListSeriesRequest(_message.Message):
    __slots__ = ["matchers", "metric", "page_size", "page_token", "range", "tenant"]
    MATCHERS_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    matchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.LabelMatcher]
    metric: str
    page_size: int
    page_token: str
    range: _common_pb2.TimeRange
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., metric: _Optional[str] = ..., matchers: _Optional[_Iterable[_Union[_common_pb2.LabelMatcher, _Mapping]]] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSeriesResponse(_message.Message):
    __slots__ = ["next_page_token", "series"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    series: _containers.RepeatedCompositeFieldContainer[SeriesDescriptor]
    def __init__(self, series: _Optional[_Iterable[_Union[SeriesDescriptor, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListSlosRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "tenant"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSlosResponse(_message.Message):
    __slots__ = ["next_page_token", "slos"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SLOS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    slos: _containers.RepeatedCompositeFieldContainer[Slo]
    def __init__(self, slos: _Optional[_Iterable[_Union[Slo, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class LlmCall(_message.Message):
    __slots__ = ["agent", "cache_creation_tokens", "cached_input_tokens", "error_type", "input_tokens", "latency", "model", "output_tokens", "provider", "run_id", "status", "team", "throttled", "time_to_first_token", "workflow"]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    CACHED_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_CREATION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    ERROR_TYPE_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    THROTTLED_FIELD_NUMBER: _ClassVar[int]
    TIME_TO_FIRST_TOKEN_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    agent: str
    cache_creation_tokens: int
    cached_input_tokens: int
    error_type: str
    input_tokens: int
    latency: _duration_pb2.Duration
    model: str
    output_tokens: int
    provider: str
    run_id: str
    status: RunStatus
    team: str
    throttled: bool
    time_to_first_token: _duration_pb2.Duration
    workflow: str
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., workflow: _Optional[str] = ..., run_id: _Optional[str] = ..., agent: _Optional[str] = ..., team: _Optional[str] = ..., latency: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., time_to_first_token: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cached_input_tokens: _Optional[int] = ..., cache_creation_tokens: _Optional[int] = ..., status: _Optional[_Union[RunStatus, str]] = ..., error_type: _Optional[str] = ..., throttled: bool = ...) -> None: ...

class MetricSample(_message.Message):
    __slots__ = ["name", "value"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: float
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...

class Point(_message.Message):
    __slots__ = ["time", "value"]
    TIME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    value: float
    def __init__(self, time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., value: _Optional[float] = ...) -> None: ...

class QualityScore(_message.Message):
    __slots__ = ["agent", "name", "run_id", "value", "workflow"]
    AGENT_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    agent: str
    name: str
    run_id: str
    value: float
    workflow: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[float] = ..., workflow: _Optional[str] = ..., agent: _Optional[str] = ..., run_id: _Optional[str] = ...) -> None: ...

class QuerySeriesRequest(_message.Message):
    __slots__ = ["aggregation", "group_by", "matchers", "metric", "range", "step", "tenant"]
    AGGREGATION_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    MATCHERS_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    aggregation: Aggregation
    group_by: _containers.RepeatedScalarFieldContainer[str]
    matchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.LabelMatcher]
    metric: str
    range: _common_pb2.TimeRange
    step: _duration_pb2.Duration
    tenant: str
    def __init__(self, metric: _Optional[str] = ..., matchers: _Optional[_Iterable[_Union[_common_pb2.LabelMatcher, _Mapping]]] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., step: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., aggregation: _Optional[_Union[Aggregation, str]] = ..., group_by: _Optional[_Iterable[str]] = ..., tenant: _Optional[str] = ...) -> None: ...

class QuerySeriesResponse(_message.Message):
    __slots__ = ["series"]
    SERIES_FIELD_NUMBER: _ClassVar[int]
    series: _containers.RepeatedCompositeFieldContainer[Series]
    def __init__(self, series: _Optional[_Iterable[_Union[Series, _Mapping]]] = ...) -> None: ...

class ResourceSample(_message.Message):
    __slots__ = ["component", "cpu_utilization", "memory_utilization", "pod", "processing_lag", "queue_depth"]
    COMPONENT_FIELD_NUMBER: _ClassVar[int]
    CPU_UTILIZATION_FIELD_NUMBER: _ClassVar[int]
    MEMORY_UTILIZATION_FIELD_NUMBER: _ClassVar[int]
    POD_FIELD_NUMBER: _ClassVar[int]
    PROCESSING_LAG_FIELD_NUMBER: _ClassVar[int]
    QUEUE_DEPTH_FIELD_NUMBER: _ClassVar[int]
    component: str
    cpu_utilization: float
    memory_utilization: float
    pod: str
    processing_lag: _duration_pb2.Duration
    queue_depth: int
    def __init__(self, component: _Optional[str] = ..., pod: _Optional[str] = ..., cpu_utilization: _Optional[float] = ..., memory_utilization: _Optional[float] = ..., queue_depth: _Optional[int] = ..., processing_lag: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class ScopeHealth(_message.Message):
    __slots__ = ["indicators", "kind", "scope", "status"]
    INDICATORS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    indicators: _containers.RepeatedCompositeFieldContainer[Indicator]
    kind: str
    scope: _common_pb2.Scope
    status: _common_pb2.HealthStatus
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., kind: _Optional[str] = ..., status: _Optional[_Union[_common_pb2.HealthStatus, str]] = ..., indicators: _Optional[_Iterable[_Union[Indicator, _Mapping]]] = ...) -> None: ...

class Series(_message.Message):
    __slots__ = ["labels", "points"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    LABELS_FIELD_NUMBER: _ClassVar[int]
    POINTS_FIELD_NUMBER: _ClassVar[int]
    labels: _containers.ScalarMap[str, str]
    points: _containers.RepeatedCompositeFieldContainer[Point]
    def __init__(self, labels: _Optional[_Mapping[str, str]] = ..., points: _Optional[_Iterable[_Union[Point, _Mapping]]] = ...) -> None: ...

class SeriesDescriptor(_message.Message):
    __slots__ = ["first_time", "labels", "last_time", "metric"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    FIRST_TIME_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LAST_TIME_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    first_time: _timestamp_pb2.Timestamp
    labels: _containers.ScalarMap[str, str]
    last_time: _timestamp_pb2.Timestamp
    metric: str
    def __init__(self, metric: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., first_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., last_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SetHealthThresholdsRequest(_message.Message):
    __slots__ = ["thresholds"]
    THRESHOLDS_FIELD_NUMBER: _ClassVar[int]
    thresholds: HealthThresholds
    def __init__(self, thresholds: _Optional[_Union[HealthThresholds, _Mapping]] = ...) -> None: ...

class Slo(_message.Message):
    __slots__ = ["burn_rate_windows", "create_time", "description", "id", "labels", "latency_threshold", "name", "objective", "scope", "sli_kind", "subject", "update_time", "window"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BURN_RATE_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    SLI_KIND_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    burn_rate_windows: _containers.RepeatedCompositeFieldContainer[BurnRateWindow]
    create_time: _timestamp_pb2.Timestamp
    description: str
    id: str
    labels: _containers.ScalarMap[str, str]
    latency_threshold: _duration_pb2.Duration
    name: str
    objective: float
    scope: _common_pb2.Scope
    sli_kind: SliKind
    subject: SloSubject
    update_time: _timestamp_pb2.Timestamp
    window: _duration_pb2.Duration
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., subject: _Optional[_Union[SloSubject, str]] = ..., sli_kind: _Optional[_Union[SliKind, str]] = ..., latency_threshold: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., objective: _Optional[float] = ..., window: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., burn_rate_windows: _Optional[_Iterable[_Union[BurnRateWindow, _Mapping]]] = ..., labels: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SloPeriodReport(_message.Message):
    __slots__ = ["error_budget_consumed", "good_events", "met", "range", "sli", "total_events"]
    ERROR_BUDGET_CONSUMED_FIELD_NUMBER: _ClassVar[int]
    GOOD_EVENTS_FIELD_NUMBER: _ClassVar[int]
    MET_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    SLI_FIELD_NUMBER: _ClassVar[int]
    TOTAL_EVENTS_FIELD_NUMBER: _ClassVar[int]
    error_budget_consumed: float
    good_events: int
    met: bool
    range: _common_pb2.TimeRange
    sli: float
    total_events: int
    def __init__(self, range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., sli: _Optional[float] = ..., good_events: _Optional[int] = ..., total_events: _Optional[int] = ..., met: bool = ..., error_budget_consumed: _Optional[float] = ...) -> None: ...

class SloStatus(_message.Message):
    __slots__ = ["as_of", "burn_rates", "error_budget_remaining", "firing_alerts", "good_events", "objective", "sli", "slo_id", "total_events"]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    BURN_RATES_FIELD_NUMBER: _ClassVar[int]
    ERROR_BUDGET_REMAINING_FIELD_NUMBER: _ClassVar[int]
    FIRING_ALERTS_FIELD_NUMBER: _ClassVar[int]
    GOOD_EVENTS_FIELD_NUMBER: _ClassVar[int]
    OBJECTIVE_FIELD_NUMBER: _ClassVar[int]
    SLI_FIELD_NUMBER: _ClassVar[int]
    SLO_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_EVENTS_FIELD_NUMBER: _ClassVar[int]
    as_of: _timestamp_pb2.Timestamp
    burn_rates: _containers.RepeatedCompositeFieldContainer[BurnRate]
    error_budget_remaining: float
    firing_alerts: _containers.RepeatedCompositeFieldContainer[ActiveAlert]
    good_events: int
    objective: float
    sli: float
    slo_id: str
    total_events: int
    def __init__(self, slo_id: _Optional[str] = ..., sli: _Optional[float] = ..., objective: _Optional[float] = ..., good_events: _Optional[int] = ..., total_events: _Optional[int] = ..., error_budget_remaining: _Optional[float] = ..., burn_rates: _Optional[_Iterable[_Union[BurnRate, _Mapping]]] = ..., firing_alerts: _Optional[_Iterable[_Union[ActiveAlert, _Mapping]]] = ..., as_of: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ThresholdCondition(_message.Message):
    __slots__ = ["aggregation", "baseline_window", "comparison", "denominator_matchers", "denominator_metric", "group_by", "matchers", "metric", "threshold", "window"]
    AGGREGATION_FIELD_NUMBER: _ClassVar[int]
    BASELINE_WINDOW_FIELD_NUMBER: _ClassVar[int]
    COMPARISON_FIELD_NUMBER: _ClassVar[int]
    DENOMINATOR_MATCHERS_FIELD_NUMBER: _ClassVar[int]
    DENOMINATOR_METRIC_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    MATCHERS_FIELD_NUMBER: _ClassVar[int]
    METRIC_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FIELD_NUMBER: _ClassVar[int]
    aggregation: Aggregation
    baseline_window: _duration_pb2.Duration
    comparison: Comparison
    denominator_matchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.LabelMatcher]
    denominator_metric: str
    group_by: _containers.RepeatedScalarFieldContainer[str]
    matchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.LabelMatcher]
    metric: str
    threshold: float
    window: _duration_pb2.Duration
    def __init__(self, metric: _Optional[str] = ..., matchers: _Optional[_Iterable[_Union[_common_pb2.LabelMatcher, _Mapping]]] = ..., aggregation: _Optional[_Union[Aggregation, str]] = ..., window: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., group_by: _Optional[_Iterable[str]] = ..., comparison: _Optional[_Union[Comparison, str]] = ..., threshold: _Optional[float] = ..., denominator_metric: _Optional[str] = ..., denominator_matchers: _Optional[_Iterable[_Union[_common_pb2.LabelMatcher, _Mapping]]] = ..., baseline_window: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class UpdateAlertRuleRequest(_message.Message):
    __slots__ = ["rule", "update_mask"]
    RULE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    rule: AlertRule
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, rule: _Optional[_Union[AlertRule, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateSloRequest(_message.Message):
    __slots__ = ["slo", "update_mask"]
    SLO_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    slo: Slo
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, slo: _Optional[_Union[Slo, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class WorkflowRun(_message.Message):
    __slots__ = ["duration", "run_id", "status", "step_count", "team", "workflow"]
    DURATION_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STEP_COUNT_FIELD_NUMBER: _ClassVar[int]
    TEAM_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    duration: _duration_pb2.Duration
    run_id: str
    status: RunStatus
    step_count: int
    team: str
    workflow: str
    def __init__(self, workflow: _Optional[str] = ..., run_id: _Optional[str] = ..., team: _Optional[str] = ..., status: _Optional[_Union[RunStatus, str]] = ..., duration: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., step_count: _Optional[int] = ...) -> None: ...

class RunStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Direction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Aggregation(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Comparison(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ActiveAlertState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class SloSubject(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class SliKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ReportPeriod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
