// A gRPC callback-API message allocator that puts a unary call's request and
// response on one protobuf Arena, released in one go when the call ends. For
// large batch requests (RecordUsage: thousands of records with a dozen string
// fields each) this replaces tens of thousands of malloc/free pairs per call
// with a few large blocks.
#pragma once

#include <google/protobuf/arena.h>
#include <grpcpp/support/message_allocator.h>

#include <cstddef>

namespace agentwatch::cost {

template <typename Request, typename Response>
class ArenaMessageAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  // Each call's arena starts with a block of `start_block_bytes` and grows
  // by blocks of at most `max_block_bytes`.
  ArenaMessageAllocator(size_t start_block_bytes, size_t max_block_bytes) {
    options_.start_block_size = start_block_bytes;
    options_.max_block_size = max_block_bytes;
  }

  grpc::MessageHolder<Request, Response>* AllocateMessages() override {
    return new Holder(options_);
  }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    explicit Holder(const google::protobuf::ArenaOptions& options) : arena_(options) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }

   private:
    google::protobuf::Arena arena_;
  };

  google::protobuf::ArenaOptions options_;
};

}  // namespace agentwatch::cost
