#include "attn_meta.h"

#include <algorithm>

namespace hogwild {

const AttnMeta& AttnMetaBuilder::build(const Plan& p, int page_size, int64_t items_target, int seg_per_item) {
  AttnMeta& m = m_;
  std::vector<int32_t>& buf = m.buf;
  buf.clear();
  auto section = [&](size_t n) {
    const size_t at = buf.size();
    buf.resize(at + n);
    return at;
  };
  const int T = p.T;
  m.T = T;
  m.tokens = section(T), m.tok_page = section(T), m.tok_slot = section(T), m.tok_local = section(T);
  std::copy(p.tokens, p.tokens + T, buf.begin() + m.tokens);
  int64_t max_pos = 0;
  seg_token_.clear(), seg_block_.clear(), seg_rel_.clear(), seg_n_.clear();
  tok_seg_start_.assign(1, 0);
  for (int r = 0; r < p.R; r++) {
    const int b = p.row_block[r];
    const int32_t* pages = p.block_pages + p.block_page_start[b];
    for (int t = p.row_token_start[r]; t < p.row_token_start[r + 1]; t++) {
      const int i = t - p.row_token_start[r], local = p.row_write_start[r] + i;
      buf[m.tok_page + t] = pages[local / page_size];
      buf[m.tok_slot + t] = local % page_size;
      buf[m.tok_local + t] = local;
      max_pos = std::max<int64_t>(max_pos, local);
      const int64_t pos = int64_t(p.row_query_start[r]) + i;
      for (int e = p.row_view_start[r]; e < p.row_view_start[r + 1]; e++) {
        const int64_t rel = pos - p.view_offset[e], n = p.visible(e, pos);
        if (n <= 0) continue;
        seg_token_.push_back(t);
        seg_block_.push_back(p.view_block[e]);
        seg_rel_.push_back(int32_t(rel));
        seg_n_.push_back(int32_t(n));
        max_pos = std::max<int64_t>(max_pos, rel < 0 ? -rel : rel);
      }
      tok_seg_start_.push_back(int32_t(seg_token_.size()));
    }
  }
  const int S = int(seg_token_.size());
  m.S = S;
  m.max_pos = max_pos;
  // Segments grouped by block; a block's keys are cut into chunks so that the grid fills the chip.
  std::vector<std::vector<int32_t>> by_block(p.B);
  std::vector<int32_t> maxn(p.B, 0);
  for (int s = 0; s < S; s++) {
    by_block[seg_block_[s]].push_back(s);
    maxn[seg_block_[s]] = std::max(maxn[seg_block_[s]], seg_n_[s]);
  }
  // The smallest chunk (a multiple of the key tile) whose work items fit the target: one wave, as many CTAs
  // as possible. Blocks seen by few tokens still need an item each, so when even one chunk per block group
  // is too many, the chunk just evens out the work instead.
  constexpr int kTile = 64;
  const int64_t target = std::max<int64_t>(1, items_target);
  int64_t work = 0, groups = 0;
  int32_t longest = 0;
  for (int b = 0; b < p.B; b++) {
    const int64_t g = (by_block[b].size() + seg_per_item - 1) / seg_per_item;
    work += int64_t(maxn[b]) * g;
    groups += g;
    longest = std::max(longest, maxn[b]);
  }
  auto items_for = [&](int64_t c) {
    int64_t n = 0;
    for (int b = 0; b < p.B; b++) n += (by_block[b].size() + seg_per_item - 1) / seg_per_item * ((maxn[b] + c - 1) / c);
    return n;
  };
  int64_t chunk = std::max<int64_t>(kTile, (work / target + kTile - 1) / kTile * kTile);
  if (groups <= target) {
    int64_t lo = 1, hi = std::max<int64_t>(1, (longest + kTile - 1) / kTile);  // in tiles; items_for(hi) == groups
    while (lo < hi) {
      const int64_t mid = (lo + hi) / 2;
      if (items_for(mid * kTile) <= target) hi = mid;
      else lo = mid + 1;
    }
    chunk = lo * kTile;
  }
  m.chunk = int(chunk);
  std::vector<int32_t> chunks(p.B);
  for (int b = 0; b < p.B; b++) chunks[b] = (maxn[b] + chunk - 1) / chunk;
  m.seg_token = section(S), m.seg_rel = section(S), m.seg_n = section(S), m.seg_slot = section(S),
  m.seg_chunks = section(S), m.tok_seg_start = section(T + 1);
  int32_t slots = 0;
  for (int s = 0; s < S; s++) {
    buf[m.seg_token + s] = seg_token_[s];
    buf[m.seg_rel + s] = seg_rel_[s];
    buf[m.seg_n + s] = seg_n_[s];
    buf[m.seg_slot + s] = slots;
    buf[m.seg_chunks + s] = chunks[seg_block_[s]];
    slots += chunks[seg_block_[s]];
  }
  m.slots = slots;
  std::copy(tok_seg_start_.begin(), tok_seg_start_.end(), buf.begin() + m.tok_seg_start);
  item_block_.clear(), item_chunk_.clear(), item_start_.clear(), item_count_.clear(), item_segs_.clear();
  for (int b = 0; b < p.B; b++)
    for (size_t g0 = 0; g0 < by_block[b].size(); g0 += seg_per_item) {
      const int count = int(std::min<size_t>(seg_per_item, by_block[b].size() - g0));
      const int start = int(item_segs_.size());
      item_segs_.insert(item_segs_.end(), by_block[b].begin() + g0, by_block[b].begin() + g0 + count);
      for (int c = 0; c < chunks[b]; c++) {
        item_block_.push_back(b);
        item_chunk_.push_back(c);
        item_start_.push_back(start);
        item_count_.push_back(count);
      }
    }
  const int items = int(item_block_.size());
  m.items = items;
  m.item_block = section(items), m.item_chunk = section(items), m.item_seg_start = section(items),
  m.item_seg_count = section(items), m.item_segs = section(item_segs_.size()), m.block_page_start = section(p.B + 1),
  m.block_pages = section(p.P), m.logit_rows = section(p.L);
  std::copy(item_block_.begin(), item_block_.end(), buf.begin() + m.item_block);
  std::copy(item_chunk_.begin(), item_chunk_.end(), buf.begin() + m.item_chunk);
  std::copy(item_start_.begin(), item_start_.end(), buf.begin() + m.item_seg_start);
  std::copy(item_count_.begin(), item_count_.end(), buf.begin() + m.item_seg_count);
  std::copy(item_segs_.begin(), item_segs_.end(), buf.begin() + m.item_segs);
  std::copy(p.block_page_start, p.block_page_start + p.B + 1, buf.begin() + m.block_page_start);
  std::copy(p.block_pages, p.block_pages + p.P, buf.begin() + m.block_pages);
  std::copy(p.logit_tokens, p.logit_tokens + p.L, buf.begin() + m.logit_rows);
  return m;
}

}  // namespace hogwild
