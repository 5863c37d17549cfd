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

BUCKET_DAY: Bucket
BUCKET_HOUR: Bucket
BUCKET_MONTH: Bucket
BUCKET_UNSPECIFIED: Bucket
BUDGET_PERIOD_DAILY: BudgetPeriod
BUDGET_PERIOD_MONTHLY: BudgetPeriod
BUDGET_PERIOD_ROLLING: BudgetPeriod
BUDGET_PERIOD_UNSPECIFIED: BudgetPeriod
BUDGET_PERIOD_WEEKLY: BudgetPeriod
DESCRIPTOR: _descriptor.FileDescriptor
DIMENSION_AGENT: Dimension
DIMENSION_MODEL: Dimension
DIMENSION_PROVIDER: Dimension
DIMENSION_SERVICE: Dimension
DIMENSION_TAG: Dimension
DIMENSION_TEAM: Dimension
DIMENSION_TENANT: Dimension
DIMENSION_UNSPECIFIED: Dimension
DIMENSION_WORKFLOW: Dimension
ENFORCEMENT_HARD: Enforcement
ENFORCEMENT_SOFT: Enforcement
ENFORCEMENT_UNSPECIFIED: Enforcement
FORMAT_CSV: Format
FORMAT_TABLE: Format
FORMAT_UNSPECIFIED: Format
INFRA_RESOURCE_COMPUTE_SECONDS: InfraResource
INFRA_RESOURCE_EXTERNAL_API_CALLS: InfraResource
INFRA_RESOURCE_MEMORY_GIB_HOURS: InfraResource
INFRA_RESOURCE_STORAGE_GIB_HOURS: InfraResource
INFRA_RESOURCE_UNSPECIFIED: InfraResource

class Budget(_message.Message):
    __slots__ = ["alert_on_projected_overrun", "alert_severity", "create_time", "enforcement", "id", "limit_nano_usd", "name", "period", "rolling_window", "scope", "threshold_percents", "time_zone", "update_time"]
    ALERT_ON_PROJECTED_OVERRUN_FIELD_NUMBER: _ClassVar[int]
    ALERT_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ENFORCEMENT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    ROLLING_WINDOW_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_PERCENTS_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    alert_on_projected_overrun: bool
    alert_severity: _common_pb2.Severity
    create_time: _timestamp_pb2.Timestamp
    enforcement: Enforcement
    id: str
    limit_nano_usd: int
    name: str
    period: BudgetPeriod
    rolling_window: _duration_pb2.Duration
    scope: _common_pb2.Scope
    threshold_percents: _containers.RepeatedScalarFieldContainer[int]
    time_zone: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., period: _Optional[_Union[BudgetPeriod, str]] = ..., rolling_window: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., limit_nano_usd: _Optional[int] = ..., threshold_percents: _Optional[_Iterable[int]] = ..., enforcement: _Optional[_Union[Enforcement, str]] = ..., time_zone: _Optional[str] = ..., alert_on_projected_overrun: bool = ..., alert_severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BudgetStatus(_message.Message):
    __slots__ = ["as_of", "budget_id", "burn_rate_nano_usd_per_hour", "fired_threshold_percents", "limit_nano_usd", "percent_used", "period_end", "period_start", "projected_exhaustion_time", "projected_spend_nano_usd", "projected_to_exceed", "remaining_nano_usd", "spent_nano_usd"]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    BURN_RATE_NANO_USD_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    FIRED_THRESHOLD_PERCENTS_FIELD_NUMBER: _ClassVar[int]
    LIMIT_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    PERCENT_USED_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_EXHAUSTION_TIME_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_SPEND_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    PROJECTED_TO_EXCEED_FIELD_NUMBER: _ClassVar[int]
    REMAINING_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    SPENT_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    as_of: _timestamp_pb2.Timestamp
    budget_id: str
    burn_rate_nano_usd_per_hour: int
    fired_threshold_percents: _containers.RepeatedScalarFieldContainer[int]
    limit_nano_usd: int
    percent_used: float
    period_end: _timestamp_pb2.Timestamp
    period_start: _timestamp_pb2.Timestamp
    projected_exhaustion_time: _timestamp_pb2.Timestamp
    projected_spend_nano_usd: int
    projected_to_exceed: bool
    remaining_nano_usd: int
    spent_nano_usd: int
    def __init__(self, budget_id: _Optional[str] = ..., period_start: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., spent_nano_usd: _Optional[int] = ..., limit_nano_usd: _Optional[int] = ..., remaining_nano_usd: _Optional[int] = ..., percent_used: _Optional[float] = ..., burn_rate_nano_usd_per_hour: _Optional[int] = ..., projected_spend_nano_usd: _Optional[int] = ..., projected_exhaustion_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., projected_to_exceed: bool = ..., fired_threshold_percents: _Optional[_Iterable[int]] = ..., as_of: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CheckBudgetRequest(_message.Message):
    __slots__ = ["estimated_cost_nano_usd", "scope"]
    ESTIMATED_COST_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    estimated_cost_nano_usd: int
    scope: _common_pb2.Scope
    def __init__(self, scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., estimated_cost_nano_usd: _Optional[int] = ...) -> None: ...

class CheckBudgetResponse(_message.Message):
    __slots__ = ["allowed", "budget_id", "enforcement", "matched_budget_ids", "percent_used", "period_end", "reason", "remaining_nano_usd", "soft_limit_exceeded"]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    ENFORCEMENT_FIELD_NUMBER: _ClassVar[int]
    MATCHED_BUDGET_IDS_FIELD_NUMBER: _ClassVar[int]
    PERCENT_USED_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REMAINING_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    SOFT_LIMIT_EXCEEDED_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    budget_id: str
    enforcement: Enforcement
    matched_budget_ids: _containers.RepeatedScalarFieldContainer[str]
    percent_used: float
    period_end: _timestamp_pb2.Timestamp
    reason: str
    remaining_nano_usd: int
    soft_limit_exceeded: bool
    def __init__(self, allowed: bool = ..., remaining_nano_usd: _Optional[int] = ..., budget_id: _Optional[str] = ..., reason: _Optional[str] = ..., enforcement: _Optional[_Union[Enforcement, str]] = ..., percent_used: _Optional[float] = ..., period_end: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., soft_limit_exceeded: bool = ..., matched_budget_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class CostPerformanceRow(_message.Message):
    __slots__ = ["call_success_rate", "calls", "cost_nano_usd", "cost_per_call_nano_usd", "cost_per_successful_run_nano_usd", "group", "llm_cost_nano_usd", "monitored_calls", "p95_latency", "performance_available", "provider", "success_rate", "successful_runs", "suggested_call_success_rate", "suggested_cost_per_call_nano_usd", "suggested_cost_per_successful_run_nano_usd", "suggested_model", "suggested_p95_latency", "suggested_provider", "suggested_saving_nano_usd", "suggestion_reason", "workflow_runs"]
    class GroupEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CALLS_FIELD_NUMBER: _ClassVar[int]
    CALL_SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    COST_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    COST_PER_CALL_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    COST_PER_SUCCESSFUL_RUN_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    LLM_COST_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    MONITORED_CALLS_FIELD_NUMBER: _ClassVar[int]
    P95_LATENCY_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCE_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    SUCCESSFUL_RUNS_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_CALL_SUCCESS_RATE_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_COST_PER_CALL_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_COST_PER_SUCCESSFUL_RUN_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_MODEL_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_P95_LATENCY_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_PROVIDER_FIELD_NUMBER: _ClassVar[int]
    SUGGESTED_SAVING_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    SUGGESTION_REASON_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUNS_FIELD_NUMBER: _ClassVar[int]
    call_success_rate: float
    calls: int
    cost_nano_usd: int
    cost_per_call_nano_usd: int
    cost_per_successful_run_nano_usd: int
    group: _containers.ScalarMap[str, str]
    llm_cost_nano_usd: int
    monitored_calls: int
    p95_latency: _duration_pb2.Duration
    performance_available: bool
    provider: str
    success_rate: float
    successful_runs: int
    suggested_call_success_rate: float
    suggested_cost_per_call_nano_usd: int
    suggested_cost_per_successful_run_nano_usd: int
    suggested_model: str
    suggested_p95_latency: _duration_pb2.Duration
    suggested_provider: str
    suggested_saving_nano_usd: int
    suggestion_reason: str
    workflow_runs: int
    def __init__(self, group: _Optional[_Mapping[str, str]] = ..., cost_nano_usd: _Optional[int] = ..., calls: _Optional[int] = ..., workflow_runs: _Optional[int] = ..., successful_runs: _Optional[int] = ..., success_rate: _Optional[float] = ..., cost_per_successful_run_nano_usd: _Optional[int] = ..., p95_latency: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., suggested_model: _Optional[str] = ..., suggested_cost_per_successful_run_nano_usd: _Optional[int] = ..., suggestion_reason: _Optional[str] = ..., provider: _Optional[str] = ..., cost_per_call_nano_usd: _Optional[int] = ..., llm_cost_nano_usd: _Optional[int] = ..., performance_available: bool = ..., monitored_calls: _Optional[int] = ..., call_success_rate: _Optional[float] = ..., suggested_provider: _Optional[str] = ..., suggested_cost_per_call_nano_usd: _Optional[int] = ..., suggested_saving_nano_usd: _Optional[int] = ..., suggested_call_success_rate: _Optional[float] = ..., suggested_p95_latency: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CostRow(_message.Message):
    __slots__ = ["bucket_start", "cache_creation_tokens", "cached_input_tokens", "calls", "client_cost_nano_usd", "cost_nano_usd", "cost_per_1k_runs_nano_usd", "cost_per_successful_run_nano_usd", "group", "infra_cost_nano_usd", "input_tokens", "llm_cost_nano_usd", "output_tokens", "successful_runs", "unpriced_calls", "workflow_runs"]
    class GroupEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    BUCKET_START_FIELD_NUMBER: _ClassVar[int]
    CACHED_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_CREATION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    CLIENT_COST_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    COST_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    COST_PER_1K_RUNS_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    COST_PER_SUCCESSFUL_RUN_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    GROUP_FIELD_NUMBER: _ClassVar[int]
    INFRA_COST_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    LLM_COST_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSFUL_RUNS_FIELD_NUMBER: _ClassVar[int]
    UNPRICED_CALLS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_RUNS_FIELD_NUMBER: _ClassVar[int]
    bucket_start: _timestamp_pb2.Timestamp
    cache_creation_tokens: int
    cached_input_tokens: int
    calls: int
    client_cost_nano_usd: int
    cost_nano_usd: int
    cost_per_1k_runs_nano_usd: int
    cost_per_successful_run_nano_usd: int
    group: _containers.ScalarMap[str, str]
    infra_cost_nano_usd: int
    input_tokens: int
    llm_cost_nano_usd: int
    output_tokens: int
    successful_runs: int
    unpriced_calls: int
    workflow_runs: int
    def __init__(self, group: _Optional[_Mapping[str, str]] = ..., bucket_start: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., cost_nano_usd: _Optional[int] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cached_input_tokens: _Optional[int] = ..., calls: _Optional[int] = ..., workflow_runs: _Optional[int] = ..., successful_runs: _Optional[int] = ..., cost_per_1k_runs_nano_usd: _Optional[int] = ..., cost_per_successful_run_nano_usd: _Optional[int] = ..., unpriced_calls: _Optional[int] = ..., cache_creation_tokens: _Optional[int] = ..., llm_cost_nano_usd: _Optional[int] = ..., infra_cost_nano_usd: _Optional[int] = ..., client_cost_nano_usd: _Optional[int] = ...) -> None: ...

class CounterDrift(_message.Message):
    __slots__ = ["budget_id", "hot_nano_usd", "ledger_nano_usd", "period_start", "repaired"]
    BUDGET_ID_FIELD_NUMBER: _ClassVar[int]
    HOT_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    LEDGER_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    REPAIRED_FIELD_NUMBER: _ClassVar[int]
    budget_id: str
    hot_nano_usd: int
    ledger_nano_usd: int
    period_start: _timestamp_pb2.Timestamp
    repaired: bool
    def __init__(self, budget_id: _Optional[str] = ..., period_start: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., hot_nano_usd: _Optional[int] = ..., ledger_nano_usd: _Optional[int] = ..., repaired: bool = ...) -> None: ...

class CreateBudgetRequest(_message.Message):
    __slots__ = ["budget", "request_id"]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    budget: Budget
    request_id: str
    def __init__(self, budget: _Optional[_Union[Budget, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteBudgetRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetBudgetRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetBudgetStatusRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetCostPerformanceRequest(_message.Message):
    __slots__ = ["filter", "group_by", "latency_tolerance", "min_calls", "page_size", "page_token", "range", "success_rate_tolerance"]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    LATENCY_TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    MIN_CALLS_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_RATE_TOLERANCE_FIELD_NUMBER: _ClassVar[int]
    filter: _common_pb2.Scope
    group_by: _containers.RepeatedScalarFieldContainer[Dimension]
    latency_tolerance: float
    min_calls: int
    page_size: int
    page_token: str
    range: _common_pb2.TimeRange
    success_rate_tolerance: float
    def __init__(self, range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., group_by: _Optional[_Iterable[_Union[Dimension, str]]] = ..., filter: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., success_rate_tolerance: _Optional[float] = ..., latency_tolerance: _Optional[float] = ..., min_calls: _Optional[int] = ...) -> None: ...

class GetCostPerformanceResponse(_message.Message):
    __slots__ = ["next_page_token", "performance_available", "performance_unavailable_reason", "rows"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCE_AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    PERFORMANCE_UNAVAILABLE_REASON_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    performance_available: bool
    performance_unavailable_reason: str
    rows: _containers.RepeatedCompositeFieldContainer[CostPerformanceRow]
    def __init__(self, rows: _Optional[_Iterable[_Union[CostPerformanceRow, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., performance_available: bool = ..., performance_unavailable_reason: _Optional[str] = ...) -> None: ...

class GetCostReportRequest(_message.Message):
    __slots__ = ["bucket", "filter", "format", "group_by", "page_size", "page_token", "range", "tag_key", "time_zone", "top_n"]
    BUCKET_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    TAG_KEY_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    TOP_N_FIELD_NUMBER: _ClassVar[int]
    bucket: Bucket
    filter: _common_pb2.Scope
    format: Format
    group_by: _containers.RepeatedScalarFieldContainer[Dimension]
    page_size: int
    page_token: str
    range: _common_pb2.TimeRange
    tag_key: str
    time_zone: str
    top_n: int
    def __init__(self, range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., group_by: _Optional[_Iterable[_Union[Dimension, str]]] = ..., tag_key: _Optional[str] = ..., filter: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., bucket: _Optional[_Union[Bucket, str]] = ..., time_zone: _Optional[str] = ..., top_n: _Optional[int] = ..., format: _Optional[_Union[Format, str]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class GetCostReportResponse(_message.Message):
    __slots__ = ["csv", "next_page_token", "rows", "total_cache_creation_tokens", "total_cached_input_tokens", "total_calls", "total_cost_nano_usd", "total_input_tokens", "total_output_tokens", "total_successful_runs", "total_unpriced_calls", "total_workflow_runs"]
    CSV_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CACHED_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CACHE_CREATION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COST_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    TOTAL_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_SUCCESSFUL_RUNS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_UNPRICED_CALLS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_WORKFLOW_RUNS_FIELD_NUMBER: _ClassVar[int]
    csv: str
    next_page_token: str
    rows: _containers.RepeatedCompositeFieldContainer[CostRow]
    total_cache_creation_tokens: int
    total_cached_input_tokens: int
    total_calls: int
    total_cost_nano_usd: int
    total_input_tokens: int
    total_output_tokens: int
    total_successful_runs: int
    total_unpriced_calls: int
    total_workflow_runs: int
    def __init__(self, rows: _Optional[_Iterable[_Union[CostRow, _Mapping]]] = ..., total_cost_nano_usd: _Optional[int] = ..., total_input_tokens: _Optional[int] = ..., total_output_tokens: _Optional[int] = ..., total_cached_input_tokens: _Optional[int] = ..., total_cache_creation_tokens: _Optional[int] = ..., total_calls: _Optional[int] = ..., total_workflow_runs: _Optional[int] = ..., total_successful_runs: _Optional[int] = ..., total_unpriced_calls: _Optional[int] = ..., csv: _Optional[str] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetPriceRequest(_message.Message):
    __slots__ = ["model", "provider", "tenant", "time"]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    model: str
    provider: str
    tenant: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., tenant: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ImportIssue(_message.Message):
    __slots__ = ["model", "reason"]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    model: str
    reason: str
    def __init__(self, model: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ImportPricesRequest(_message.Message):
    __slots__ = ["dry_run", "effective_time", "litellm_json", "litellm_json_bytes", "tenant"]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    LITELLM_JSON_BYTES_FIELD_NUMBER: _ClassVar[int]
    LITELLM_JSON_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    effective_time: _timestamp_pb2.Timestamp
    litellm_json: str
    litellm_json_bytes: bytes
    tenant: str
    def __init__(self, litellm_json: _Optional[str] = ..., litellm_json_bytes: _Optional[bytes] = ..., effective_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., tenant: _Optional[str] = ..., dry_run: bool = ...) -> None: ...

class ImportPricesResponse(_message.Message):
    __slots__ = ["imported", "issues", "skipped", "unchanged"]
    IMPORTED_FIELD_NUMBER: _ClassVar[int]
    ISSUES_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_FIELD_NUMBER: _ClassVar[int]
    UNCHANGED_FIELD_NUMBER: _ClassVar[int]
    imported: int
    issues: _containers.RepeatedCompositeFieldContainer[ImportIssue]
    skipped: int
    unchanged: int
    def __init__(self, imported: _Optional[int] = ..., unchanged: _Optional[int] = ..., skipped: _Optional[int] = ..., issues: _Optional[_Iterable[_Union[ImportIssue, _Mapping]]] = ...) -> None: ...

class InfraUsage(_message.Message):
    __slots__ = ["quantity", "resource", "sku", "unit"]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_FIELD_NUMBER: _ClassVar[int]
    SKU_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    quantity: int
    resource: InfraResource
    sku: str
    unit: str
    def __init__(self, resource: _Optional[_Union[InfraResource, str]] = ..., quantity: _Optional[int] = ..., unit: _Optional[str] = ..., sku: _Optional[str] = ...) -> None: ...

class ListBudgetsRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "tenant"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListBudgetsResponse(_message.Message):
    __slots__ = ["budgets", "next_page_token"]
    BUDGETS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    budgets: _containers.RepeatedCompositeFieldContainer[Budget]
    next_page_token: str
    def __init__(self, budgets: _Optional[_Iterable[_Union[Budget, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListPricesRequest(_message.Message):
    __slots__ = ["include_history", "model", "page_size", "page_token", "provider", "tenant"]
    INCLUDE_HISTORY_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    include_history: bool
    model: str
    page_size: int
    page_token: str
    provider: str
    tenant: str
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., tenant: _Optional[str] = ..., include_history: bool = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPricesResponse(_message.Message):
    __slots__ = ["next_page_token", "prices"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PRICES_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    prices: _containers.RepeatedCompositeFieldContainer[Price]
    def __init__(self, prices: _Optional[_Iterable[_Union[Price, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListUnknownModelsRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "range", "tenant"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    range: _common_pb2.TimeRange
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListUnknownModelsResponse(_message.Message):
    __slots__ = ["models", "next_page_token"]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    models: _containers.RepeatedCompositeFieldContainer[UnknownModel]
    next_page_token: str
    def __init__(self, models: _Optional[_Iterable[_Union[UnknownModel, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class LlmUsage(_message.Message):
    __slots__ = ["cache_creation_tokens", "cached_input_tokens", "input_tokens", "model", "output_tokens", "provider", "requests"]
    CACHED_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_CREATION_TOKENS_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    REQUESTS_FIELD_NUMBER: _ClassVar[int]
    cache_creation_tokens: int
    cached_input_tokens: int
    input_tokens: int
    model: str
    output_tokens: int
    provider: str
    requests: int
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ..., cached_input_tokens: _Optional[int] = ..., cache_creation_tokens: _Optional[int] = ..., requests: _Optional[int] = ...) -> None: ...

class Price(_message.Message):
    __slots__ = ["cache_creation_per_million_nano_usd", "cache_read_per_million_nano_usd", "create_time", "effective_time", "input_per_million_nano_usd", "model", "output_per_million_nano_usd", "provider", "source", "tenant", "tiers", "unit_price_nano_usd"]
    CACHE_CREATION_PER_MILLION_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    CACHE_READ_PER_MILLION_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    INPUT_PER_MILLION_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PER_MILLION_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    UNIT_PRICE_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    cache_creation_per_million_nano_usd: int
    cache_read_per_million_nano_usd: int
    create_time: _timestamp_pb2.Timestamp
    effective_time: _timestamp_pb2.Timestamp
    input_per_million_nano_usd: int
    model: str
    output_per_million_nano_usd: int
    provider: str
    source: str
    tenant: str
    tiers: _containers.RepeatedCompositeFieldContainer[PriceTier]
    unit_price_nano_usd: int
    def __init__(self, provider: _Optional[str] = ..., model: _Optional[str] = ..., tenant: _Optional[str] = ..., effective_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., input_per_million_nano_usd: _Optional[int] = ..., output_per_million_nano_usd: _Optional[int] = ..., cache_read_per_million_nano_usd: _Optional[int] = ..., cache_creation_per_million_nano_usd: _Optional[int] = ..., tiers: _Optional[_Iterable[_Union[PriceTier, _Mapping]]] = ..., unit_price_nano_usd: _Optional[int] = ..., source: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class PriceTier(_message.Message):
    __slots__ = ["above_input_tokens", "cache_creation_per_million_nano_usd", "cache_read_per_million_nano_usd", "input_per_million_nano_usd", "output_per_million_nano_usd"]
    ABOVE_INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    CACHE_CREATION_PER_MILLION_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    CACHE_READ_PER_MILLION_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    INPUT_PER_MILLION_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_PER_MILLION_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    above_input_tokens: int
    cache_creation_per_million_nano_usd: int
    cache_read_per_million_nano_usd: int
    input_per_million_nano_usd: int
    output_per_million_nano_usd: int
    def __init__(self, above_input_tokens: _Optional[int] = ..., input_per_million_nano_usd: _Optional[int] = ..., output_per_million_nano_usd: _Optional[int] = ..., cache_read_per_million_nano_usd: _Optional[int] = ..., cache_creation_per_million_nano_usd: _Optional[int] = ...) -> None: ...

class ReconcileRequest(_message.Message):
    __slots__ = ["dry_run", "tenant"]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    dry_run: bool
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., dry_run: bool = ...) -> None: ...

class ReconcileResponse(_message.Message):
    __slots__ = ["counters_checked", "drifted", "drifts", "end_time", "missing", "repaired", "start_time"]
    COUNTERS_CHECKED_FIELD_NUMBER: _ClassVar[int]
    DRIFTED_FIELD_NUMBER: _ClassVar[int]
    DRIFTS_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    MISSING_FIELD_NUMBER: _ClassVar[int]
    REPAIRED_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    counters_checked: int
    drifted: int
    drifts: _containers.RepeatedCompositeFieldContainer[CounterDrift]
    end_time: _timestamp_pb2.Timestamp
    missing: int
    repaired: int
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, counters_checked: _Optional[int] = ..., drifted: _Optional[int] = ..., missing: _Optional[int] = ..., repaired: _Optional[int] = ..., drifts: _Optional[_Iterable[_Union[CounterDrift, _Mapping]]] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordUsageRequest(_message.Message):
    __slots__ = ["records"]
    RECORDS_FIELD_NUMBER: _ClassVar[int]
    records: _containers.RepeatedCompositeFieldContainer[UsageRecord]
    def __init__(self, records: _Optional[_Iterable[_Union[UsageRecord, _Mapping]]] = ...) -> None: ...

class RecordUsageResponse(_message.Message):
    __slots__ = ["accepted", "duplicates", "total_cost_nano_usd", "unknown_models"]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COST_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_MODELS_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicates: int
    total_cost_nano_usd: int
    unknown_models: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, accepted: _Optional[int] = ..., duplicates: _Optional[int] = ..., unknown_models: _Optional[_Iterable[str]] = ..., total_cost_nano_usd: _Optional[int] = ...) -> None: ...

class UnknownModel(_message.Message):
    __slots__ = ["calls", "first_seen", "input_tokens", "last_seen", "model", "output_tokens", "provider", "tenant"]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    FIRST_SEEN_FIELD_NUMBER: _ClassVar[int]
    INPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    LAST_SEEN_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_TOKENS_FIELD_NUMBER: _ClassVar[int]
    PROVIDER_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    calls: int
    first_seen: _timestamp_pb2.Timestamp
    input_tokens: int
    last_seen: _timestamp_pb2.Timestamp
    model: str
    output_tokens: int
    provider: str
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., provider: _Optional[str] = ..., model: _Optional[str] = ..., first_seen: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., last_seen: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., calls: _Optional[int] = ..., input_tokens: _Optional[int] = ..., output_tokens: _Optional[int] = ...) -> None: ...

class UpdateBudgetRequest(_message.Message):
    __slots__ = ["budget", "update_mask"]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    budget: Budget
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, budget: _Optional[_Union[Budget, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpsertPriceRequest(_message.Message):
    __slots__ = ["price"]
    PRICE_FIELD_NUMBER: _ClassVar[int]
    price: Price
    def __init__(self, price: _Optional[_Union[Price, _Mapping]] = ...) -> None: ...

class UsageRecord(_message.Message):
    __slots__ = ["client_cost_nano_usd", "infra", "llm", "record_id", "run_id", "run_succeeded", "scope", "time"]
    CLIENT_COST_NANO_USD_FIELD_NUMBER: _ClassVar[int]
    INFRA_FIELD_NUMBER: _ClassVar[int]
    LLM_FIELD_NUMBER: _ClassVar[int]
    RECORD_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_SUCCEEDED_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    client_cost_nano_usd: int
    infra: InfraUsage
    llm: LlmUsage
    record_id: str
    run_id: str
    run_succeeded: bool
    scope: _common_pb2.Scope
    time: _timestamp_pb2.Timestamp
    def __init__(self, record_id: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., scope: _Optional[_Union[_common_pb2.Scope, _Mapping]] = ..., run_id: _Optional[str] = ..., run_succeeded: bool = ..., llm: _Optional[_Union[LlmUsage, _Mapping]] = ..., infra: _Optional[_Union[InfraUsage, _Mapping]] = ..., client_cost_nano_usd: _Optional[int] = ...) -> None: ...

class InfraResource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Dimension(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Bucket(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Format(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class BudgetPeriod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Enforcement(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
