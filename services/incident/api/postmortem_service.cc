// IncidentServiceImpl: the postmortem RPCs (CreatePostmortem,
// UpdatePostmortem, GetPostmortem, ListPostmortems, ExportPostmortem) over
// the store's PostmortemStore. Postmortem.timeline is the incident's
// timeline, read when the postmortem is returned by Create, Update and Get
// (ListPostmortems leaves it empty to keep pages small).
#include <google/protobuf/util/field_mask_util.h>

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "incident/api/incident_service.h"
#include "incident/api/proto_mapping.h"
#include "incident/core/postmortem.h"
#include "incident/core/validation.h"
#include "incident/store/postmortem_store.h"

namespace agentwatch::incident {
namespace {

using common::InvalidField;
using common::Role;
using google::protobuf::util::FieldMaskUtil;

// The writable fields of Postmortem (what an update mask may name).
constexpr absl::string_view kWritable[] = {"title",   "status",       "summary",
                                           "impact",  "root_cause",   "resolution",
                                           "lessons", "action_items", "author"};

absl::StatusOr<PostmortemStore*> Postmortems(IncidentStore& store) {
  PostmortemStore* postmortems = store.postmortems();
  if (postmortems == nullptr) {
    return absl::UnimplementedError("this incident store keeps no postmortems");
  }
  return postmortems;
}

absl::StatusOr<Postmortem> PostmortemFromProto(const v1::Postmortem& in, absl::string_view field) {
  Postmortem p;
  p.id = in.id();
  p.incident_id = in.incident_id();
  p.title = in.title();
  p.status = static_cast<PostmortemStatus>(in.status());
  p.summary = in.summary();
  p.impact = in.impact();
  p.root_cause = in.root_cause();
  p.resolution = in.resolution();
  p.lessons = in.lessons();
  p.author = in.author();
  for (int i = 0; i < in.action_items_size(); ++i) {
    const v1::ActionItem& from = in.action_items(i);
    ActionItem item;
    item.id = from.id();
    item.description = from.description();
    item.owner = from.owner();
    item.status = static_cast<ActionItemStatus>(from.status());
    item.url = from.url();
    if (from.has_due_time()) {
      ASSIGN_OR_RETURN(
          item.due_time,
          TimeFromProto(from.due_time(), absl::StrCat(field, ".action_items[", i, "].due_time")));
      item.due_time = TruncateToMicros(*item.due_time);
    }
    p.action_items.push_back(std::move(item));
  }
  return p;
}

void PostmortemToProto(const Postmortem& p, v1::Postmortem* out) {
  out->set_id(p.id);
  out->set_incident_id(p.incident_id);
  out->set_tenant(p.tenant);
  out->set_title(p.title);
  out->set_status(static_cast<v1::PostmortemStatus>(p.status));
  out->set_summary(p.summary);
  out->set_impact(p.impact);
  out->set_root_cause(p.root_cause);
  out->set_resolution(p.resolution);
  out->set_lessons(p.lessons);
  out->set_author(p.author);
  for (const ActionItem& item : p.action_items) {
    v1::ActionItem* to = out->add_action_items();
    to->set_id(item.id);
    to->set_description(item.description);
    to->set_owner(item.owner);
    to->set_status(static_cast<v1::ActionItemStatus>(item.status));
    if (item.due_time) TimeToProto(*item.due_time, to->mutable_due_time());
    to->set_url(item.url);
  }
  TimeToProto(p.create_time, out->mutable_create_time());
  TimeToProto(p.update_time, out->mutable_update_time());
}

// `p` with the incident's timeline.
absl::Status FillPostmortem(IncidentStore& store, const Postmortem& p, v1::Postmortem* out) {
  ASSIGN_OR_RETURN(const IncidentDetail detail, store.GetIncident(p.incident_id));
  PostmortemToProto(p, out);
  for (const TimelineEntry& entry : detail.timeline) {
    TimelineEntryToProto(entry, out->add_timeline());
  }
  return absl::OkStatus();
}

// A retried create (same incident and request_id) gets the same id.
std::string PostmortemIdFor(absl::string_view incident_id, absl::string_view request_id) {
  return FormatUuid(Fnv1a64(absl::StrCat("postmortem\n", incident_id, "\n", request_id)),
                    Fnv1a64(absl::StrCat(request_id, "\n", incident_id, "\npostmortem")));
}

}  // namespace

grpc::ServerUnaryReactor* IncidentServiceImpl::CreatePostmortem(
    grpc::CallbackServerContext* context, const v1::CreatePostmortemRequest* request,
    v1::Postmortem* response) {
  return rpc_.Unary(context, Role::kOperator, [this, request, response]() -> absl::Status {
    ASSIGN_OR_RETURN(PostmortemStore* const postmortems, Postmortems(store_));
    RETURN_IF_ERROR(ValidateOptional(request->request_id(), "request_id", kMaxRequestIdBytes));
    RETURN_IF_ERROR(ValidateRequired(request->postmortem().incident_id(), "postmortem.incident_id",
                                     kMaxIdBytes));
    const absl::Time now = TruncateToMicros(clock_.Now());
    ASSIGN_OR_RETURN(Postmortem p, PostmortemFromProto(request->postmortem(), "postmortem"));
    ApplyPostmortemDefaults(&p);
    RETURN_IF_ERROR(ValidatePostmortem(p, "postmortem"));
    RETURN_IF_ERROR(
        AssignActionItemIds(nullptr, &p, "postmortem", [&] { return config_ids_.NewId(now); }));
    p.id = request->request_id().empty() ? config_ids_.NewId(now)
                                         : PostmortemIdFor(p.incident_id, request->request_id());
    p.create_time = now;
    p.update_time = now;
    ASSIGN_OR_RETURN(const Postmortem stored, postmortems->CreatePostmortem(p));
    return FillPostmortem(store_, stored, response);
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::UpdatePostmortem(
    grpc::CallbackServerContext* context, const v1::UpdatePostmortemRequest* request,
    v1::Postmortem* response) {
  return rpc_.Unary(context, Role::kOperator, [this, request, response]() -> absl::Status {
    ASSIGN_OR_RETURN(PostmortemStore* const postmortems, Postmortems(store_));
    RETURN_IF_ERROR(ValidateRequired(request->postmortem().id(), "postmortem.id", kMaxIdBytes));
    const google::protobuf::FieldMask& mask = request->update_mask();
    for (const std::string& path : mask.paths()) {
      if (std::find(std::begin(kWritable), std::end(kWritable), path) != std::end(kWritable)) {
        continue;
      }
      if (FieldMaskUtil::GetFieldDescriptors(v1::Postmortem::descriptor(), path, nullptr)) {
        return InvalidField("update_mask", absl::StrCat("\"", path, "\" is read-only"));
      }
      return InvalidField("update_mask", absl::StrCat("\"", path, "\" is not a Postmortem field"));
    }
    // Checks the wire format (timestamps) before taking any lock.
    RETURN_IF_ERROR(PostmortemFromProto(request->postmortem(), "postmortem").status());
    const absl::Time now = TruncateToMicros(clock_.Now());
    ASSIGN_OR_RETURN(
        const Postmortem stored,
        postmortems->UpdatePostmortem(
            request->postmortem().id(),
            [&](const Postmortem& current, const Incident&) -> absl::StatusOr<Postmortem> {
              v1::Postmortem merged;
              PostmortemToProto(current, &merged);
              google::protobuf::FieldMask paths = mask;
              if (paths.paths().empty()) {
                for (absl::string_view path : kWritable) paths.add_paths(std::string(path));
              }
              FieldMaskUtil::MergeOptions options;
              options.set_replace_repeated_fields(true);
              FieldMaskUtil::MergeMessageTo(request->postmortem(), paths, options, &merged);
              ASSIGN_OR_RETURN(Postmortem next, PostmortemFromProto(merged, "postmortem"));
              next.tenant = current.tenant;
              if (next.title.empty()) next.title = current.title;
              ApplyPostmortemDefaults(&next);
              RETURN_IF_ERROR(ValidatePostmortem(next, "postmortem"));
              RETURN_IF_ERROR(AssignActionItemIds(&current, &next, "postmortem",
                                                  [&] { return config_ids_.NewId(now); }));
              next.update_time = std::max(now, current.update_time + absl::Microseconds(1));
              return next;
            }));
    return FillPostmortem(store_, stored, response);
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::GetPostmortem(
    grpc::CallbackServerContext* context, const v1::GetPostmortemRequest* request,
    v1::Postmortem* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    ASSIGN_OR_RETURN(PostmortemStore* const postmortems, Postmortems(store_));
    if (request->id().empty() == request->incident_id().empty()) {
      return InvalidField("id", "set exactly one of id and incident_id");
    }
    Postmortem p;
    if (!request->id().empty()) {
      RETURN_IF_ERROR(ValidateRequired(request->id(), "id", kMaxIdBytes));
      ASSIGN_OR_RETURN(p, postmortems->GetPostmortem(request->id()));
    } else {
      RETURN_IF_ERROR(ValidateRequired(request->incident_id(), "incident_id", kMaxIdBytes));
      ASSIGN_OR_RETURN(p, postmortems->GetPostmortemOfIncident(request->incident_id()));
    }
    return FillPostmortem(store_, p, response);
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::ListPostmortems(
    grpc::CallbackServerContext* context, const v1::ListPostmortemsRequest* request,
    v1::ListPostmortemsResponse* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    ASSIGN_OR_RETURN(PostmortemStore* const postmortems, Postmortems(store_));
    RETURN_IF_ERROR(ValidateOptional(request->tenant(), "tenant", kMaxTenantBytes));
    PostmortemQuery query;
    query.tenant = request->tenant();
    std::string digest_input = absl::StrCat("postmortem\n", request->tenant(), "\n");
    for (int i = 0; i < request->statuses_size(); ++i) {
      const auto status = static_cast<PostmortemStatus>(request->statuses(i));
      if (status < PostmortemStatus::kDraft || status > PostmortemStatus::kPublished) {
        return InvalidField(absl::StrCat("statuses[", i, "]"),
                            absl::StrCat("unknown value ", request->statuses(i)));
      }
      query.statuses.push_back(status);
      absl::StrAppend(&digest_input, request->statuses(i), ",");
    }
    ASSIGN_OR_RETURN(query.page_size, NormalizePageSize(request->page_size()));
    const uint64_t digest = Fnv1a64(digest_input);
    if (!request->page_token().empty()) {
      ASSIGN_OR_RETURN(query.after, DecodePageToken(request->page_token(), digest));
    }
    ASSIGN_OR_RETURN(const PostmortemPage page, postmortems->ListPostmortems(query));
    for (const Postmortem& p : page.postmortems) PostmortemToProto(p, response->add_postmortems());
    if (page.next) response->set_next_page_token(EncodePageToken(*page.next, digest));
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* IncidentServiceImpl::ExportPostmortem(
    grpc::CallbackServerContext* context, const v1::ExportPostmortemRequest* request,
    v1::ExportPostmortemResponse* response) {
  return rpc_.Unary(context, Role::kViewer, [this, request, response]() -> absl::Status {
    ASSIGN_OR_RETURN(PostmortemStore* const postmortems, Postmortems(store_));
    RETURN_IF_ERROR(ValidateRequired(request->id(), "id", kMaxIdBytes));
    ASSIGN_OR_RETURN(const Postmortem p, postmortems->GetPostmortem(request->id()));
    ASSIGN_OR_RETURN(const IncidentDetail detail, store_.GetIncident(p.incident_id));
    response->set_markdown(RenderPostmortemMarkdown(p, detail.incident, detail.timeline));
    response->set_file_name(PostmortemFileName(p));
    return absl::OkStatus();
  });
}

}  // namespace agentwatch::incident
