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

ACTION_ITEM_STATUS_DONE: ActionItemStatus
ACTION_ITEM_STATUS_IN_PROGRESS: ActionItemStatus
ACTION_ITEM_STATUS_OPEN: ActionItemStatus
ACTION_ITEM_STATUS_UNSPECIFIED: ActionItemStatus
ACTION_ITEM_STATUS_WONT_DO: ActionItemStatus
ALERT_STATUS_FIRING: AlertStatus
ALERT_STATUS_RESOLVED: AlertStatus
ALERT_STATUS_UNSPECIFIED: AlertStatus
DESCRIPTOR: _descriptor.FileDescriptor
INCIDENT_EVENT_TYPE_CREATED: IncidentEventType
INCIDENT_EVENT_TYPE_SNAPSHOT: IncidentEventType
INCIDENT_EVENT_TYPE_UNSPECIFIED: IncidentEventType
INCIDENT_EVENT_TYPE_UPDATED: IncidentEventType
INCIDENT_STATUS_ACKNOWLEDGED: IncidentStatus
INCIDENT_STATUS_CLOSED: IncidentStatus
INCIDENT_STATUS_MITIGATED: IncidentStatus
INCIDENT_STATUS_RESOLVED: IncidentStatus
INCIDENT_STATUS_TRIGGERED: IncidentStatus
INCIDENT_STATUS_UNSPECIFIED: IncidentStatus
POSTMORTEM_STATUS_DRAFT: PostmortemStatus
POSTMORTEM_STATUS_IN_REVIEW: PostmortemStatus
POSTMORTEM_STATUS_PUBLISHED: PostmortemStatus
POSTMORTEM_STATUS_UNSPECIFIED: PostmortemStatus
SILENCE_STATE_ACTIVE: SilenceState
SILENCE_STATE_EXPIRED: SilenceState
SILENCE_STATE_PENDING: SilenceState
SILENCE_STATE_UNSPECIFIED: SilenceState

class AcknowledgeIncidentRequest(_message.Message):
    __slots__ = ["actor", "id", "note", "request_id"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    actor: str
    id: str
    note: str
    request_id: str
    def __init__(self, id: _Optional[str] = ..., actor: _Optional[str] = ..., request_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class ActionItem(_message.Message):
    __slots__ = ["description", "due_time", "id", "owner", "status", "url"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DUE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    description: str
    due_time: _timestamp_pb2.Timestamp
    id: str
    owner: str
    status: ActionItemStatus
    url: str
    def __init__(self, id: _Optional[str] = ..., description: _Optional[str] = ..., owner: _Optional[str] = ..., status: _Optional[_Union[ActionItemStatus, str]] = ..., due_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., url: _Optional[str] = ...) -> None: ...

class AddNoteAction(_message.Message):
    __slots__ = ["text"]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class AddNoteRequest(_message.Message):
    __slots__ = ["actor", "id", "note", "request_id"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    actor: str
    id: str
    note: str
    request_id: str
    def __init__(self, id: _Optional[str] = ..., actor: _Optional[str] = ..., request_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class Alert(_message.Message):
    __slots__ = ["annotations", "ends_at", "fingerprint", "generator_url", "labels", "name", "severity", "source", "starts_at", "status", "tenant"]
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
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_URL_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    annotations: _containers.ScalarMap[str, str]
    ends_at: _timestamp_pb2.Timestamp
    fingerprint: str
    generator_url: str
    labels: _containers.ScalarMap[str, str]
    name: str
    severity: _common_pb2.Severity
    source: str
    starts_at: _timestamp_pb2.Timestamp
    status: AlertStatus
    tenant: str
    def __init__(self, fingerprint: _Optional[str] = ..., name: _Optional[str] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., tenant: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., annotations: _Optional[_Mapping[str, str]] = ..., starts_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., ends_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., status: _Optional[_Union[AlertStatus, str]] = ..., source: _Optional[str] = ..., generator_url: _Optional[str] = ...) -> None: ...

class AlertFatigue(_message.Message):
    __slots__ = ["alerts_inhibited", "alerts_per_incident", "alerts_received", "alerts_silenced", "auto_resolved_share", "notifications_sent", "pages_per_person"]
    ALERTS_INHIBITED_FIELD_NUMBER: _ClassVar[int]
    ALERTS_PER_INCIDENT_FIELD_NUMBER: _ClassVar[int]
    ALERTS_RECEIVED_FIELD_NUMBER: _ClassVar[int]
    ALERTS_SILENCED_FIELD_NUMBER: _ClassVar[int]
    AUTO_RESOLVED_SHARE_FIELD_NUMBER: _ClassVar[int]
    NOTIFICATIONS_SENT_FIELD_NUMBER: _ClassVar[int]
    PAGES_PER_PERSON_FIELD_NUMBER: _ClassVar[int]
    alerts_inhibited: int
    alerts_per_incident: float
    alerts_received: int
    alerts_silenced: int
    auto_resolved_share: float
    notifications_sent: int
    pages_per_person: _containers.RepeatedCompositeFieldContainer[PagesPerPerson]
    def __init__(self, alerts_received: _Optional[int] = ..., alerts_silenced: _Optional[int] = ..., alerts_inhibited: _Optional[int] = ..., alerts_per_incident: _Optional[float] = ..., auto_resolved_share: _Optional[float] = ..., notifications_sent: _Optional[int] = ..., pages_per_person: _Optional[_Iterable[_Union[PagesPerPerson, _Mapping]]] = ...) -> None: ...

class AssignOwnerRequest(_message.Message):
    __slots__ = ["actor", "id", "note", "owner", "request_id"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    actor: str
    id: str
    note: str
    owner: str
    request_id: str
    def __init__(self, id: _Optional[str] = ..., actor: _Optional[str] = ..., request_id: _Optional[str] = ..., note: _Optional[str] = ..., owner: _Optional[str] = ...) -> None: ...

class CapacityRecommendationAction(_message.Message):
    __slots__ = ["resource_id"]
    RESOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    resource_id: str
    def __init__(self, resource_id: _Optional[str] = ...) -> None: ...

class CloseIncidentRequest(_message.Message):
    __slots__ = ["actor", "id", "note", "request_id"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    actor: str
    id: str
    note: str
    request_id: str
    def __init__(self, id: _Optional[str] = ..., actor: _Optional[str] = ..., request_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class CreateEscalationPolicyRequest(_message.Message):
    __slots__ = ["policy", "request_id"]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    policy: EscalationPolicy
    request_id: str
    def __init__(self, policy: _Optional[_Union[EscalationPolicy, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateInhibitionRuleRequest(_message.Message):
    __slots__ = ["request_id", "rule"]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    rule: InhibitionRule
    def __init__(self, rule: _Optional[_Union[InhibitionRule, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateNotificationChannelRequest(_message.Message):
    __slots__ = ["channel", "request_id"]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    channel: NotificationChannel
    request_id: str
    def __init__(self, channel: _Optional[_Union[NotificationChannel, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreatePostmortemRequest(_message.Message):
    __slots__ = ["postmortem", "request_id"]
    POSTMORTEM_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    postmortem: Postmortem
    request_id: str
    def __init__(self, postmortem: _Optional[_Union[Postmortem, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateResponseRuleRequest(_message.Message):
    __slots__ = ["request_id", "rule"]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RULE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    rule: ResponseRule
    def __init__(self, rule: _Optional[_Union[ResponseRule, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateScheduleRequest(_message.Message):
    __slots__ = ["request_id", "schedule"]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    schedule: Schedule
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CreateSilenceRequest(_message.Message):
    __slots__ = ["request_id", "silence"]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SILENCE_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    silence: Silence
    def __init__(self, silence: _Optional[_Union[Silence, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class DeleteEscalationPolicyRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteInhibitionRuleRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteNotificationChannelRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteResponseRuleRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteScheduleRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteSilenceRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class EmailChannel(_message.Message):
    __slots__ = ["from_address", "password_ref", "smtp_host", "smtp_port", "starttls", "to_addresses", "username"]
    FROM_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PASSWORD_REF_FIELD_NUMBER: _ClassVar[int]
    SMTP_HOST_FIELD_NUMBER: _ClassVar[int]
    SMTP_PORT_FIELD_NUMBER: _ClassVar[int]
    STARTTLS_FIELD_NUMBER: _ClassVar[int]
    TO_ADDRESSES_FIELD_NUMBER: _ClassVar[int]
    USERNAME_FIELD_NUMBER: _ClassVar[int]
    from_address: str
    password_ref: str
    smtp_host: str
    smtp_port: int
    starttls: bool
    to_addresses: _containers.RepeatedScalarFieldContainer[str]
    username: str
    def __init__(self, smtp_host: _Optional[str] = ..., smtp_port: _Optional[int] = ..., starttls: bool = ..., username: _Optional[str] = ..., password_ref: _Optional[str] = ..., from_address: _Optional[str] = ..., to_addresses: _Optional[_Iterable[str]] = ...) -> None: ...

class EscalateAction(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class EscalationPolicy(_message.Message):
    __slots__ = ["acknowledge_timeout", "create_time", "description", "id", "matchers", "name", "priority", "repeat_count", "tenant", "tiers", "update_time"]
    ACKNOWLEDGE_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MATCHERS_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    REPEAT_COUNT_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    acknowledge_timeout: _duration_pb2.Duration
    create_time: _timestamp_pb2.Timestamp
    description: str
    id: str
    matchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.LabelMatcher]
    name: str
    priority: int
    repeat_count: int
    tenant: str
    tiers: _containers.RepeatedCompositeFieldContainer[EscalationTier]
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., tenant: _Optional[str] = ..., description: _Optional[str] = ..., matchers: _Optional[_Iterable[_Union[_common_pb2.LabelMatcher, _Mapping]]] = ..., priority: _Optional[int] = ..., tiers: _Optional[_Iterable[_Union[EscalationTier, _Mapping]]] = ..., repeat_count: _Optional[int] = ..., acknowledge_timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class EscalationTarget(_message.Message):
    __slots__ = ["channel_id", "person", "schedule_id"]
    CHANNEL_ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    channel_id: str
    person: str
    schedule_id: str
    def __init__(self, person: _Optional[str] = ..., schedule_id: _Optional[str] = ..., channel_id: _Optional[str] = ...) -> None: ...

class EscalationTier(_message.Message):
    __slots__ = ["delay", "targets"]
    DELAY_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    delay: _duration_pb2.Duration
    targets: _containers.RepeatedCompositeFieldContainer[EscalationTarget]
    def __init__(self, delay: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., targets: _Optional[_Iterable[_Union[EscalationTarget, _Mapping]]] = ...) -> None: ...

class ExportPostmortemRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class ExportPostmortemResponse(_message.Message):
    __slots__ = ["file_name", "markdown"]
    FILE_NAME_FIELD_NUMBER: _ClassVar[int]
    MARKDOWN_FIELD_NUMBER: _ClassVar[int]
    file_name: str
    markdown: str
    def __init__(self, markdown: _Optional[str] = ..., file_name: _Optional[str] = ...) -> None: ...

class FrequencyBucket(_message.Message):
    __slots__ = ["bucket_start", "incident_count"]
    BUCKET_START_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    bucket_start: _timestamp_pb2.Timestamp
    incident_count: int
    def __init__(self, bucket_start: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., incident_count: _Optional[int] = ...) -> None: ...

class GetEscalationPolicyRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetGroupingConfigRequest(_message.Message):
    __slots__ = ["tenant"]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    def __init__(self, tenant: _Optional[str] = ...) -> None: ...

class GetIncidentRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetIncidentResponse(_message.Message):
    __slots__ = ["alerts", "incident", "timeline"]
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    incident: Incident
    timeline: _containers.RepeatedCompositeFieldContainer[TimelineEntry]
    def __init__(self, incident: _Optional[_Union[Incident, _Mapping]] = ..., alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ..., timeline: _Optional[_Iterable[_Union[TimelineEntry, _Mapping]]] = ...) -> None: ...

class GetInhibitionRuleRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetNotificationChannelRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetOnCallRequest(_message.Message):
    __slots__ = ["range", "schedule_id", "time"]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULE_ID_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    range: _common_pb2.TimeRange
    schedule_id: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, schedule_id: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ...) -> None: ...

class GetOnCallResponse(_message.Message):
    __slots__ = ["shifts"]
    SHIFTS_FIELD_NUMBER: _ClassVar[int]
    shifts: _containers.RepeatedCompositeFieldContainer[OnCallShift]
    def __init__(self, shifts: _Optional[_Iterable[_Union[OnCallShift, _Mapping]]] = ...) -> None: ...

class GetPostmortemRequest(_message.Message):
    __slots__ = ["id", "incident_id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    incident_id: str
    def __init__(self, id: _Optional[str] = ..., incident_id: _Optional[str] = ...) -> None: ...

class GetResponseRuleRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetScheduleRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetSilenceRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetSlaPolicyRequest(_message.Message):
    __slots__ = ["tenant"]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    tenant: str
    def __init__(self, tenant: _Optional[str] = ...) -> None: ...

class GetStatsRequest(_message.Message):
    __slots__ = ["range", "service_label", "tenant", "time_zone"]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    SERVICE_LABEL_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    range: _common_pb2.TimeRange
    service_label: str
    tenant: str
    time_zone: str
    def __init__(self, tenant: _Optional[str] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., service_label: _Optional[str] = ..., time_zone: _Optional[str] = ...) -> None: ...

class GroupingConfig(_message.Message):
    __slots__ = ["group_by", "group_interval", "group_wait", "reopen_window", "resolve_quiet_period", "tenant", "update_time"]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    GROUP_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    GROUP_WAIT_FIELD_NUMBER: _ClassVar[int]
    REOPEN_WINDOW_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_QUIET_PERIOD_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    group_by: _containers.RepeatedScalarFieldContainer[str]
    group_interval: _duration_pb2.Duration
    group_wait: _duration_pb2.Duration
    reopen_window: _duration_pb2.Duration
    resolve_quiet_period: _duration_pb2.Duration
    tenant: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, tenant: _Optional[str] = ..., group_by: _Optional[_Iterable[str]] = ..., group_wait: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., group_interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., resolve_quiet_period: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., reopen_window: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Incident(_message.Message):
    __slots__ = ["acknowledge_due_time", "acknowledge_time", "alert_count", "auto_resolved", "close_time", "create_time", "escalation_policy_id", "escalation_tier", "firing_alert_count", "group_key", "id", "labels", "mitigate_time", "owner", "postmortem_id", "resolve_due_time", "resolve_time", "response_target", "severity", "sla_breach_time", "sla_breached", "start_time", "status", "tenant", "title", "update_time"]
    class LabelsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ACKNOWLEDGE_DUE_TIME_FIELD_NUMBER: _ClassVar[int]
    ACKNOWLEDGE_TIME_FIELD_NUMBER: _ClassVar[int]
    ALERT_COUNT_FIELD_NUMBER: _ClassVar[int]
    AUTO_RESOLVED_FIELD_NUMBER: _ClassVar[int]
    CLOSE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_POLICY_ID_FIELD_NUMBER: _ClassVar[int]
    ESCALATION_TIER_FIELD_NUMBER: _ClassVar[int]
    FIRING_ALERT_COUNT_FIELD_NUMBER: _ClassVar[int]
    GROUP_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    LABELS_FIELD_NUMBER: _ClassVar[int]
    MITIGATE_TIME_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    POSTMORTEM_ID_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_DUE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESPONSE_TARGET_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    SLA_BREACHED_FIELD_NUMBER: _ClassVar[int]
    SLA_BREACH_TIME_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    acknowledge_due_time: _timestamp_pb2.Timestamp
    acknowledge_time: _timestamp_pb2.Timestamp
    alert_count: int
    auto_resolved: bool
    close_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    escalation_policy_id: str
    escalation_tier: int
    firing_alert_count: int
    group_key: str
    id: str
    labels: _containers.ScalarMap[str, str]
    mitigate_time: _timestamp_pb2.Timestamp
    owner: str
    postmortem_id: str
    resolve_due_time: _timestamp_pb2.Timestamp
    resolve_time: _timestamp_pb2.Timestamp
    response_target: _duration_pb2.Duration
    severity: _common_pb2.Severity
    sla_breach_time: _timestamp_pb2.Timestamp
    sla_breached: bool
    start_time: _timestamp_pb2.Timestamp
    status: IncidentStatus
    tenant: str
    title: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., status: _Optional[_Union[IncidentStatus, str]] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., tenant: _Optional[str] = ..., group_key: _Optional[str] = ..., labels: _Optional[_Mapping[str, str]] = ..., alert_count: _Optional[int] = ..., firing_alert_count: _Optional[int] = ..., owner: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., acknowledge_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., mitigate_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., resolve_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., close_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., response_target: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., acknowledge_due_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., resolve_due_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., sla_breached: bool = ..., escalation_policy_id: _Optional[str] = ..., escalation_tier: _Optional[int] = ..., auto_resolved: bool = ..., postmortem_id: _Optional[str] = ..., sla_breach_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class IncidentEvent(_message.Message):
    __slots__ = ["cursor", "entry", "entry_id", "incident", "time", "type"]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    cursor: str
    entry: TimelineEntry
    entry_id: int
    incident: Incident
    time: _timestamp_pb2.Timestamp
    type: IncidentEventType
    def __init__(self, type: _Optional[_Union[IncidentEventType, str]] = ..., incident: _Optional[_Union[Incident, _Mapping]] = ..., entry: _Optional[_Union[TimelineEntry, _Mapping]] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., cursor: _Optional[str] = ..., entry_id: _Optional[int] = ...) -> None: ...

class IncidentStats(_message.Message):
    __slots__ = ["by_service", "by_severity", "fatigue", "frequency", "overall"]
    BY_SERVICE_FIELD_NUMBER: _ClassVar[int]
    BY_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    FATIGUE_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_FIELD_NUMBER: _ClassVar[int]
    OVERALL_FIELD_NUMBER: _ClassVar[int]
    by_service: _containers.RepeatedCompositeFieldContainer[StatsGroup]
    by_severity: _containers.RepeatedCompositeFieldContainer[StatsGroup]
    fatigue: AlertFatigue
    frequency: _containers.RepeatedCompositeFieldContainer[FrequencyBucket]
    overall: StatsGroup
    def __init__(self, overall: _Optional[_Union[StatsGroup, _Mapping]] = ..., by_severity: _Optional[_Iterable[_Union[StatsGroup, _Mapping]]] = ..., by_service: _Optional[_Iterable[_Union[StatsGroup, _Mapping]]] = ..., frequency: _Optional[_Iterable[_Union[FrequencyBucket, _Mapping]]] = ..., fatigue: _Optional[_Union[AlertFatigue, _Mapping]] = ...) -> None: ...

class InhibitionRule(_message.Message):
    __slots__ = ["create_time", "equal", "id", "name", "source_matchers", "target_matchers", "tenant", "update_time"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EQUAL_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_MATCHERS_FIELD_NUMBER: _ClassVar[int]
    TARGET_MATCHERS_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    equal: _containers.RepeatedScalarFieldContainer[str]
    id: str
    name: str
    source_matchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.LabelMatcher]
    target_matchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.LabelMatcher]
    tenant: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., tenant: _Optional[str] = ..., source_matchers: _Optional[_Iterable[_Union[_common_pb2.LabelMatcher, _Mapping]]] = ..., target_matchers: _Optional[_Iterable[_Union[_common_pb2.LabelMatcher, _Mapping]]] = ..., equal: _Optional[_Iterable[str]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListEscalationPoliciesRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "tenant"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListEscalationPoliciesResponse(_message.Message):
    __slots__ = ["next_page_token", "policies"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    POLICIES_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    policies: _containers.RepeatedCompositeFieldContainer[EscalationPolicy]
    def __init__(self, policies: _Optional[_Iterable[_Union[EscalationPolicy, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListIncidentsRequest(_message.Message):
    __slots__ = ["matchers", "owner", "page_size", "page_token", "range", "severities", "statuses", "tenant"]
    MATCHERS_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    SEVERITIES_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    matchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.LabelMatcher]
    owner: str
    page_size: int
    page_token: str
    range: _common_pb2.TimeRange
    severities: _containers.RepeatedScalarFieldContainer[_common_pb2.Severity]
    statuses: _containers.RepeatedScalarFieldContainer[IncidentStatus]
    tenant: str
    def __init__(self, statuses: _Optional[_Iterable[_Union[IncidentStatus, str]]] = ..., severities: _Optional[_Iterable[_Union[_common_pb2.Severity, str]]] = ..., tenant: _Optional[str] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ..., matchers: _Optional[_Iterable[_Union[_common_pb2.LabelMatcher, _Mapping]]] = ..., owner: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListIncidentsResponse(_message.Message):
    __slots__ = ["incidents", "next_page_token"]
    INCIDENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    incidents: _containers.RepeatedCompositeFieldContainer[Incident]
    next_page_token: str
    def __init__(self, incidents: _Optional[_Iterable[_Union[Incident, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListInhibitionRulesRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "tenant"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListInhibitionRulesResponse(_message.Message):
    __slots__ = ["next_page_token", "rules"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    rules: _containers.RepeatedCompositeFieldContainer[InhibitionRule]
    def __init__(self, rules: _Optional[_Iterable[_Union[InhibitionRule, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListNotificationChannelsRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "person", "tenant"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    person: str
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., person: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListNotificationChannelsResponse(_message.Message):
    __slots__ = ["channels", "next_page_token"]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    channels: _containers.RepeatedCompositeFieldContainer[NotificationChannel]
    next_page_token: str
    def __init__(self, channels: _Optional[_Iterable[_Union[NotificationChannel, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListPostmortemsRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "statuses", "tenant"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    statuses: _containers.RepeatedScalarFieldContainer[PostmortemStatus]
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., statuses: _Optional[_Iterable[_Union[PostmortemStatus, str]]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListPostmortemsResponse(_message.Message):
    __slots__ = ["next_page_token", "postmortems"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    POSTMORTEMS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    postmortems: _containers.RepeatedCompositeFieldContainer[Postmortem]
    def __init__(self, postmortems: _Optional[_Iterable[_Union[Postmortem, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListResponseRulesRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "tenant"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListResponseRulesResponse(_message.Message):
    __slots__ = ["next_page_token", "rules"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    rules: _containers.RepeatedCompositeFieldContainer[ResponseRule]
    def __init__(self, rules: _Optional[_Iterable[_Union[ResponseRule, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListSchedulesRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "tenant"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSchedulesResponse(_message.Message):
    __slots__ = ["next_page_token", "schedules"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    schedules: _containers.RepeatedCompositeFieldContainer[Schedule]
    def __init__(self, schedules: _Optional[_Iterable[_Union[Schedule, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListSilencesRequest(_message.Message):
    __slots__ = ["include_expired", "page_size", "page_token", "tenant"]
    INCLUDE_EXPIRED_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    include_expired: bool
    page_size: int
    page_token: str
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., include_expired: bool = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListSilencesResponse(_message.Message):
    __slots__ = ["next_page_token", "silences"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SILENCES_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    silences: _containers.RepeatedCompositeFieldContainer[Silence]
    def __init__(self, silences: _Optional[_Iterable[_Union[Silence, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class MitigateIncidentRequest(_message.Message):
    __slots__ = ["actor", "id", "note", "request_id"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    actor: str
    id: str
    note: str
    request_id: str
    def __init__(self, id: _Optional[str] = ..., actor: _Optional[str] = ..., request_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class NotificationChannel(_message.Message):
    __slots__ = ["create_time", "disabled", "email", "id", "min_severity", "name", "pagerduty", "person", "slack", "tenant", "update_time", "webhook"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MIN_SEVERITY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAGERDUTY_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    SLACK_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    disabled: bool
    email: EmailChannel
    id: str
    min_severity: _common_pb2.Severity
    name: str
    pagerduty: PagerDutyChannel
    person: str
    slack: SlackChannel
    tenant: str
    update_time: _timestamp_pb2.Timestamp
    webhook: WebhookChannel
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., tenant: _Optional[str] = ..., person: _Optional[str] = ..., webhook: _Optional[_Union[WebhookChannel, _Mapping]] = ..., slack: _Optional[_Union[SlackChannel, _Mapping]] = ..., pagerduty: _Optional[_Union[PagerDutyChannel, _Mapping]] = ..., email: _Optional[_Union[EmailChannel, _Mapping]] = ..., min_severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., disabled: bool = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class NotifyAction(_message.Message):
    __slots__ = ["channel_ids"]
    CHANNEL_IDS_FIELD_NUMBER: _ClassVar[int]
    channel_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, channel_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class OnCallShift(_message.Message):
    __slots__ = ["end_time", "is_override", "person", "rotation", "start_time"]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    IS_OVERRIDE_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    ROTATION_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    end_time: _timestamp_pb2.Timestamp
    is_override: bool
    person: str
    rotation: str
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, person: _Optional[str] = ..., rotation: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., is_override: bool = ...) -> None: ...

class PagerDutyChannel(_message.Message):
    __slots__ = ["events_url", "routing_key_ref"]
    EVENTS_URL_FIELD_NUMBER: _ClassVar[int]
    ROUTING_KEY_REF_FIELD_NUMBER: _ClassVar[int]
    events_url: str
    routing_key_ref: str
    def __init__(self, routing_key_ref: _Optional[str] = ..., events_url: _Optional[str] = ...) -> None: ...

class PagesPerPerson(_message.Message):
    __slots__ = ["pages_per_week", "person"]
    PAGES_PER_WEEK_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    pages_per_week: float
    person: str
    def __init__(self, person: _Optional[str] = ..., pages_per_week: _Optional[float] = ...) -> None: ...

class Postmortem(_message.Message):
    __slots__ = ["action_items", "author", "create_time", "id", "impact", "incident_id", "lessons", "resolution", "root_cause", "status", "summary", "tenant", "timeline", "title", "update_time"]
    ACTION_ITEMS_FIELD_NUMBER: _ClassVar[int]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    IMPACT_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_ID_FIELD_NUMBER: _ClassVar[int]
    LESSONS_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_FIELD_NUMBER: _ClassVar[int]
    ROOT_CAUSE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TIMELINE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    action_items: _containers.RepeatedCompositeFieldContainer[ActionItem]
    author: str
    create_time: _timestamp_pb2.Timestamp
    id: str
    impact: str
    incident_id: str
    lessons: str
    resolution: str
    root_cause: str
    status: PostmortemStatus
    summary: str
    tenant: str
    timeline: _containers.RepeatedCompositeFieldContainer[TimelineEntry]
    title: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., incident_id: _Optional[str] = ..., tenant: _Optional[str] = ..., title: _Optional[str] = ..., status: _Optional[_Union[PostmortemStatus, str]] = ..., summary: _Optional[str] = ..., impact: _Optional[str] = ..., root_cause: _Optional[str] = ..., resolution: _Optional[str] = ..., lessons: _Optional[str] = ..., action_items: _Optional[_Iterable[_Union[ActionItem, _Mapping]]] = ..., timeline: _Optional[_Iterable[_Union[TimelineEntry, _Mapping]]] = ..., author: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ReopenIncidentRequest(_message.Message):
    __slots__ = ["actor", "id", "note", "request_id"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    actor: str
    id: str
    note: str
    request_id: str
    def __init__(self, id: _Optional[str] = ..., actor: _Optional[str] = ..., request_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class ReportAlertsRequest(_message.Message):
    __slots__ = ["alerts"]
    ALERTS_FIELD_NUMBER: _ClassVar[int]
    alerts: _containers.RepeatedCompositeFieldContainer[Alert]
    def __init__(self, alerts: _Optional[_Iterable[_Union[Alert, _Mapping]]] = ...) -> None: ...

class ReportAlertsResponse(_message.Message):
    __slots__ = ["accepted", "duplicates", "incident_ids", "inhibited", "silenced"]
    ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    INCIDENT_IDS_FIELD_NUMBER: _ClassVar[int]
    INHIBITED_FIELD_NUMBER: _ClassVar[int]
    SILENCED_FIELD_NUMBER: _ClassVar[int]
    accepted: int
    duplicates: int
    incident_ids: _containers.RepeatedScalarFieldContainer[str]
    inhibited: int
    silenced: int
    def __init__(self, accepted: _Optional[int] = ..., incident_ids: _Optional[_Iterable[str]] = ..., duplicates: _Optional[int] = ..., silenced: _Optional[int] = ..., inhibited: _Optional[int] = ...) -> None: ...

class ResolveIncidentRequest(_message.Message):
    __slots__ = ["actor", "id", "note", "request_id"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    actor: str
    id: str
    note: str
    request_id: str
    def __init__(self, id: _Optional[str] = ..., actor: _Optional[str] = ..., request_id: _Optional[str] = ..., note: _Optional[str] = ...) -> None: ...

class ResponseAction(_message.Message):
    __slots__ = ["add_note", "capacity_recommendation", "continue_on_error", "escalate", "notify", "webhook"]
    ADD_NOTE_FIELD_NUMBER: _ClassVar[int]
    CAPACITY_RECOMMENDATION_FIELD_NUMBER: _ClassVar[int]
    CONTINUE_ON_ERROR_FIELD_NUMBER: _ClassVar[int]
    ESCALATE_FIELD_NUMBER: _ClassVar[int]
    NOTIFY_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_FIELD_NUMBER: _ClassVar[int]
    add_note: AddNoteAction
    capacity_recommendation: CapacityRecommendationAction
    continue_on_error: bool
    escalate: EscalateAction
    notify: NotifyAction
    webhook: WebhookAction
    def __init__(self, webhook: _Optional[_Union[WebhookAction, _Mapping]] = ..., capacity_recommendation: _Optional[_Union[CapacityRecommendationAction, _Mapping]] = ..., notify: _Optional[_Union[NotifyAction, _Mapping]] = ..., escalate: _Optional[_Union[EscalateAction, _Mapping]] = ..., add_note: _Optional[_Union[AddNoteAction, _Mapping]] = ..., continue_on_error: bool = ...) -> None: ...

class ResponseCondition(_message.Message):
    __slots__ = ["alert_names", "matchers", "severities"]
    ALERT_NAMES_FIELD_NUMBER: _ClassVar[int]
    MATCHERS_FIELD_NUMBER: _ClassVar[int]
    SEVERITIES_FIELD_NUMBER: _ClassVar[int]
    alert_names: _containers.RepeatedScalarFieldContainer[str]
    matchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.LabelMatcher]
    severities: _containers.RepeatedScalarFieldContainer[_common_pb2.Severity]
    def __init__(self, alert_names: _Optional[_Iterable[str]] = ..., matchers: _Optional[_Iterable[_Union[_common_pb2.LabelMatcher, _Mapping]]] = ..., severities: _Optional[_Iterable[_Union[_common_pb2.Severity, str]]] = ...) -> None: ...

class ResponseRule(_message.Message):
    __slots__ = ["actions", "condition", "cooldown", "create_time", "disabled", "id", "max_per_hour", "name", "tenant", "update_time"]
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    CONDITION_FIELD_NUMBER: _ClassVar[int]
    COOLDOWN_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DISABLED_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MAX_PER_HOUR_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[ResponseAction]
    condition: ResponseCondition
    cooldown: _duration_pb2.Duration
    create_time: _timestamp_pb2.Timestamp
    disabled: bool
    id: str
    max_per_hour: int
    name: str
    tenant: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., tenant: _Optional[str] = ..., condition: _Optional[_Union[ResponseCondition, _Mapping]] = ..., actions: _Optional[_Iterable[_Union[ResponseAction, _Mapping]]] = ..., cooldown: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., max_per_hour: _Optional[int] = ..., disabled: bool = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Rotation(_message.Message):
    __slots__ = ["name", "participants", "restrictions", "shift_length", "start_time"]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PARTICIPANTS_FIELD_NUMBER: _ClassVar[int]
    RESTRICTIONS_FIELD_NUMBER: _ClassVar[int]
    SHIFT_LENGTH_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    name: str
    participants: _containers.RepeatedScalarFieldContainer[str]
    restrictions: _containers.RepeatedCompositeFieldContainer[_common_pb2.WeeklyWindow]
    shift_length: _duration_pb2.Duration
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., participants: _Optional[_Iterable[str]] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., shift_length: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., restrictions: _Optional[_Iterable[_Union[_common_pb2.WeeklyWindow, _Mapping]]] = ...) -> None: ...

class Schedule(_message.Message):
    __slots__ = ["create_time", "id", "name", "overrides", "rotations", "tenant", "time_zone", "update_time"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OVERRIDES_FIELD_NUMBER: _ClassVar[int]
    ROTATIONS_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    id: str
    name: str
    overrides: _containers.RepeatedCompositeFieldContainer[ScheduleOverride]
    rotations: _containers.RepeatedCompositeFieldContainer[Rotation]
    tenant: str
    time_zone: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., tenant: _Optional[str] = ..., time_zone: _Optional[str] = ..., rotations: _Optional[_Iterable[_Union[Rotation, _Mapping]]] = ..., overrides: _Optional[_Iterable[_Union[ScheduleOverride, _Mapping]]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ScheduleOverride(_message.Message):
    __slots__ = ["id", "person", "range"]
    ID_FIELD_NUMBER: _ClassVar[int]
    PERSON_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    id: str
    person: str
    range: _common_pb2.TimeRange
    def __init__(self, id: _Optional[str] = ..., person: _Optional[str] = ..., range: _Optional[_Union[_common_pb2.TimeRange, _Mapping]] = ...) -> None: ...

class SetSeverityRequest(_message.Message):
    __slots__ = ["actor", "id", "note", "request_id", "severity"]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    actor: str
    id: str
    note: str
    request_id: str
    severity: _common_pb2.Severity
    def __init__(self, id: _Optional[str] = ..., actor: _Optional[str] = ..., request_id: _Optional[str] = ..., note: _Optional[str] = ..., severity: _Optional[_Union[_common_pb2.Severity, str]] = ...) -> None: ...

class SeverityTarget(_message.Message):
    __slots__ = ["acknowledge_within", "next_business_day", "resolve_within", "severity"]
    ACKNOWLEDGE_WITHIN_FIELD_NUMBER: _ClassVar[int]
    NEXT_BUSINESS_DAY_FIELD_NUMBER: _ClassVar[int]
    RESOLVE_WITHIN_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    acknowledge_within: _duration_pb2.Duration
    next_business_day: bool
    resolve_within: _duration_pb2.Duration
    severity: _common_pb2.Severity
    def __init__(self, severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., acknowledge_within: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., resolve_within: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., next_business_day: bool = ...) -> None: ...

class Silence(_message.Message):
    __slots__ = ["author", "comment", "create_time", "ends_at", "id", "matchers", "recurrence", "starts_at", "state", "tenant", "update_time"]
    AUTHOR_FIELD_NUMBER: _ClassVar[int]
    COMMENT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ENDS_AT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MATCHERS_FIELD_NUMBER: _ClassVar[int]
    RECURRENCE_FIELD_NUMBER: _ClassVar[int]
    STARTS_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    author: str
    comment: str
    create_time: _timestamp_pb2.Timestamp
    ends_at: _timestamp_pb2.Timestamp
    id: str
    matchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.LabelMatcher]
    recurrence: _common_pb2.WeeklyWindow
    starts_at: _timestamp_pb2.Timestamp
    state: SilenceState
    tenant: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., tenant: _Optional[str] = ..., matchers: _Optional[_Iterable[_Union[_common_pb2.LabelMatcher, _Mapping]]] = ..., starts_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., ends_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., author: _Optional[str] = ..., comment: _Optional[str] = ..., recurrence: _Optional[_Union[_common_pb2.WeeklyWindow, _Mapping]] = ..., state: _Optional[_Union[SilenceState, str]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SlaPolicy(_message.Message):
    __slots__ = ["business_hours", "targets", "tenant", "update_time"]
    BUSINESS_HOURS_FIELD_NUMBER: _ClassVar[int]
    TARGETS_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    business_hours: _common_pb2.WeeklyWindow
    targets: _containers.RepeatedCompositeFieldContainer[SeverityTarget]
    tenant: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, tenant: _Optional[str] = ..., targets: _Optional[_Iterable[_Union[SeverityTarget, _Mapping]]] = ..., business_hours: _Optional[_Union[_common_pb2.WeeklyWindow, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class SlackChannel(_message.Message):
    __slots__ = ["channel", "webhook_url_ref"]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    WEBHOOK_URL_REF_FIELD_NUMBER: _ClassVar[int]
    channel: str
    webhook_url_ref: str
    def __init__(self, webhook_url_ref: _Optional[str] = ..., channel: _Optional[str] = ...) -> None: ...

class StatsGroup(_message.Message):
    __slots__ = ["incident_count", "mtta", "mttd", "mttr", "service", "severity", "sla_breaches"]
    INCIDENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    MTTA_FIELD_NUMBER: _ClassVar[int]
    MTTD_FIELD_NUMBER: _ClassVar[int]
    MTTR_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    SEVERITY_FIELD_NUMBER: _ClassVar[int]
    SLA_BREACHES_FIELD_NUMBER: _ClassVar[int]
    incident_count: int
    mtta: _duration_pb2.Duration
    mttd: _duration_pb2.Duration
    mttr: _duration_pb2.Duration
    service: str
    severity: _common_pb2.Severity
    sla_breaches: int
    def __init__(self, severity: _Optional[_Union[_common_pb2.Severity, str]] = ..., service: _Optional[str] = ..., incident_count: _Optional[int] = ..., mttd: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., mtta: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., mttr: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., sla_breaches: _Optional[int] = ...) -> None: ...

class TestNotificationChannelRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class TestNotificationChannelResponse(_message.Message):
    __slots__ = ["delivered", "detail"]
    DELIVERED_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    delivered: bool
    detail: str
    def __init__(self, delivered: bool = ..., detail: _Optional[str] = ...) -> None: ...

class TimelineEntry(_message.Message):
    __slots__ = ["actor", "details", "kind", "text", "time"]
    class DetailsEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    DETAILS_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    actor: str
    details: _containers.ScalarMap[str, str]
    kind: str
    text: str
    time: _timestamp_pb2.Timestamp
    def __init__(self, time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., actor: _Optional[str] = ..., kind: _Optional[str] = ..., text: _Optional[str] = ..., details: _Optional[_Mapping[str, str]] = ...) -> None: ...

class UpdateEscalationPolicyRequest(_message.Message):
    __slots__ = ["policy", "update_mask"]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    policy: EscalationPolicy
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, policy: _Optional[_Union[EscalationPolicy, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateGroupingConfigRequest(_message.Message):
    __slots__ = ["config", "update_mask"]
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    config: GroupingConfig
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, config: _Optional[_Union[GroupingConfig, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateInhibitionRuleRequest(_message.Message):
    __slots__ = ["rule", "update_mask"]
    RULE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    rule: InhibitionRule
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, rule: _Optional[_Union[InhibitionRule, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateNotificationChannelRequest(_message.Message):
    __slots__ = ["channel", "update_mask"]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    channel: NotificationChannel
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, channel: _Optional[_Union[NotificationChannel, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdatePostmortemRequest(_message.Message):
    __slots__ = ["postmortem", "update_mask"]
    POSTMORTEM_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    postmortem: Postmortem
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, postmortem: _Optional[_Union[Postmortem, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateResponseRuleRequest(_message.Message):
    __slots__ = ["rule", "update_mask"]
    RULE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    rule: ResponseRule
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, rule: _Optional[_Union[ResponseRule, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateScheduleRequest(_message.Message):
    __slots__ = ["schedule", "update_mask"]
    SCHEDULE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    schedule: Schedule
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, schedule: _Optional[_Union[Schedule, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateSilenceRequest(_message.Message):
    __slots__ = ["silence", "update_mask"]
    SILENCE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    silence: Silence
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, silence: _Optional[_Union[Silence, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateSlaPolicyRequest(_message.Message):
    __slots__ = ["policy", "update_mask"]
    POLICY_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    policy: SlaPolicy
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, policy: _Optional[_Union[SlaPolicy, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class WatchIncidentsRequest(_message.Message):
    __slots__ = ["matchers", "resume_cursor", "send_initial", "severities", "tenant"]
    MATCHERS_FIELD_NUMBER: _ClassVar[int]
    RESUME_CURSOR_FIELD_NUMBER: _ClassVar[int]
    SEND_INITIAL_FIELD_NUMBER: _ClassVar[int]
    SEVERITIES_FIELD_NUMBER: _ClassVar[int]
    TENANT_FIELD_NUMBER: _ClassVar[int]
    matchers: _containers.RepeatedCompositeFieldContainer[_common_pb2.LabelMatcher]
    resume_cursor: str
    send_initial: bool
    severities: _containers.RepeatedScalarFieldContainer[_common_pb2.Severity]
    tenant: str
    def __init__(self, tenant: _Optional[str] = ..., severities: _Optional[_Iterable[_Union[_common_pb2.Severity, str]]] = ..., matchers: _Optional[_Iterable[_Union[_common_pb2.LabelMatcher, _Mapping]]] = ..., send_initial: bool = ..., resume_cursor: _Optional[str] = ...) -> None: ...

class WebhookAction(_message.Message):
    __slots__ = ["headers", "hmac_secret_ref", "timeout", "url"]
    class HeadersEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    HMAC_SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    headers: _containers.ScalarMap[str, str]
    hmac_secret_ref: str
    timeout: _duration_pb2.Duration
    url: str
    def __init__(self, url: _Optional[str] = ..., hmac_secret_ref: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class WebhookChannel(_message.Message):
    __slots__ = ["headers", "hmac_secret_ref", "timeout", "url"]
    class HeadersEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    HEADERS_FIELD_NUMBER: _ClassVar[int]
    HMAC_SECRET_REF_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    headers: _containers.ScalarMap[str, str]
    hmac_secret_ref: str
    timeout: _duration_pb2.Duration
    url: str
    def __init__(self, url: _Optional[str] = ..., hmac_secret_ref: _Optional[str] = ..., headers: _Optional[_Mapping[str, str]] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class AlertStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class IncidentStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class IncidentEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class PostmortemStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ActionItemStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class SilenceState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
