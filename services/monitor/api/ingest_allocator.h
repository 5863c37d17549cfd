// The messages of an Ingest request the wire reader declines (ingest_wire.h;
// MonitorServiceImpl::IngestWireBatch parses those with the generated
// parser): the IngestRequest and IngestResponse live on one protobuf Arena
// whose first block comes from a pool of reused blocks. Parsing a
// 5,000-event batch then costs no malloc per string or sub-message (tens of
// thousands per batch on the heap), and, the blocks staying mapped from call
// to call, no page faults either (large transient heap allocations are
// returned to the kernel on free and faulted in again on the next call). A
// request larger than a block continues on further arena blocks from the
// heap, freed with the call.
#pragma once

#include <google/protobuf/arena.h>
#include <grpcpp/support/message_allocator.h>

#include <cstddef>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "agentwatch/monitor/v1/monitor.pb.h"

namespace agentwatch::monitor {

class IngestMessageAllocator final
    : public grpc::MessageAllocator<v1::IngestRequest, v1::IngestResponse> {
 public:
  // Blocks of `block_bytes`; at most `max_pooled` idle blocks are kept (the
  // others are freed when their call ends).
  IngestMessageAllocator(size_t block_bytes, size_t max_pooled)
      : block_bytes_(block_bytes), max_pooled_(max_pooled) {}

  IngestMessageAllocator(const IngestMessageAllocator&) = delete;
  IngestMessageAllocator& operator=(const IngestMessageAllocator&) = delete;

  grpc::MessageHolder<v1::IngestRequest, v1::IngestResponse>* AllocateMessages() override {
    return new Holder(*this, TakeBlock());
  }

  // Idle blocks in the pool (for tests).
  size_t pooled() const {
    std::lock_guard<std::mutex> lock(mu_);
    return free_.size();
  }

 private:
  using Block = std::unique_ptr<char[]>;

  class Holder final : public grpc::MessageHolder<v1::IngestRequest, v1::IngestResponse> {
   public:
    Holder(IngestMessageAllocator& owner, Block block) : owner_(owner), block_(std::move(block)) {
      google::protobuf::ArenaOptions options;
      options.initial_block = block_.get();
      options.initial_block_size = owner_.block_bytes_;
      options.start_block_size = owner_.block_bytes_;
      options.max_block_size = owner_.block_bytes_;
      arena_.emplace(options);
      set_request(google::protobuf::Arena::CreateMessage<v1::IngestRequest>(&*arena_));
      set_response(google::protobuf::Arena::CreateMessage<v1::IngestResponse>(&*arena_));
    }

    void Release() override {
      arena_.reset();  // the messages go first; then the block is free again
      owner_.ReturnBlock(std::move(block_));
      delete this;
    }

   private:
    IngestMessageAllocator& owner_;
    Block block_;
    std::optional<google::protobuf::Arena> arena_;
  };

  Block TakeBlock() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!free_.empty()) {
        Block block = std::move(free_.back());
        free_.pop_back();
        return block;
      }
    }
    return Block(new char[block_bytes_]);
  }

  void ReturnBlock(Block block) {
    std::lock_guard<std::mutex> lock(mu_);
    if (free_.size() < max_pooled_) free_.push_back(std::move(block));
  }

  const size_t block_bytes_;
  const size_t max_pooled_;
  mutable std::mutex mu_;
  std::vector<Block> free_;
};

}  // namespace agentwatch::monitor
