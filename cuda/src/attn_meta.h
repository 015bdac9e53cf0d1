// A pass's plan as the CUDA kernels want it, built on the host (plain C++, so that hogwild-replay can check
// it on a machine without a GPU): every array in one int32 buffer, uploaded with one copy.
//
// Segments: a new token's visit to one block of its view (rel, the token's position minus the block's offset,
// turns the query: negative for a block read in full past it; n, Plan::visible, its keys), in token order, so
// a token's segments are contiguous.
// A block's keys are cut into chunks of `chunk` keys; each (segment, chunk) has a partial-softmax slot, slots
// numbered segment by segment, so a token's slots are contiguous too (the merge kernel reads them as one
// range). A work item is (block, chunk, a group of at most seg_per_item of the block's segments): one CTA per
// KV head reads the chunk's K/V once for all of them.
#pragma once
#include <cstdint>
#include <vector>

#include "hogwild.h"

namespace hogwild {

struct AttnMeta {
  std::vector<int32_t> buf;
  // Where each array starts in buf.
  size_t tokens = 0, tok_page = 0, tok_slot = 0, tok_local = 0;                // [T]
  size_t seg_token = 0, seg_rel = 0, seg_n = 0, seg_slot = 0, seg_chunks = 0;  // [S]
  size_t tok_seg_start = 0;                                                     // [T+1]
  size_t item_block = 0, item_chunk = 0, item_seg_start = 0, item_seg_count = 0;  // [items]
  size_t item_segs = 0;                                                         // segment ids grouped per item
  size_t block_page_start = 0, block_pages = 0, logit_rows = 0;                 // [B+1], [P], [L]
  int T = 0, S = 0, items = 0, chunk = 0, slots = 0;
  int64_t max_pos = 0;  // the largest RoPE position the pass needs
  const int32_t* at(size_t offset) const { return buf.data() + offset; }
};

class AttnMetaBuilder {
 public:
  // items_target: work items to aim at per KV head (about two CTAs per SM: one wave); seg_per_item: the most
  // segments a CTA serves (its query rows over the query heads per KV head). The result stays in meta().
  const AttnMeta& build(const Plan& p, int page_size, int64_t items_target, int seg_per_item);
  const AttnMeta& meta() const { return m_; }

 private:
  AttnMeta m_;
  // scratch, reused across passes
  std::vector<int32_t> seg_token_, seg_block_, seg_rel_, seg_n_, tok_seg_start_, item_block_, item_chunk_, item_start_,
      item_count_, item_segs_;
};

}  // namespace hogwild
