// SPDX-License-Identifier: GPL-2.0-only
// PersistentStore throughput: loading a large table (read_metadata) and prepare+commit with
// batches of one (every commit writes its whole area chunk, with FLUSH|FUA, to a memory device).
// Run from a Release build: build-*-rel/bench/store_bench.
#include <benchmark/benchmark.h>

#include <cassert>
#include <cerrno>
#include <cstring>
#include <vector>

#include "core/block_device.h"
#include "core/format.h"
#include "core/memory_device.h"
#include "core/persistent_store.h"

namespace snapsim {
namespace {

constexpr uint32_t kChunk = 8;  // 4 KiB chunks: E = 256
constexpr uint32_t kE = ExceptionsPerArea(kChunk);
constexpr size_t kChunkBytes = size_t{kChunk} << kSectorShift;
constexpr uint64_t kLoadExceptions = 1'000'000;

// Holds only the header and metadata areas of a COW device, packed, so a table of a million
// exceptions (4 GiB of COW at 4 KiB chunks) needs 16 MB. Data chunks read as zeros and writes
// to them are dropped: the store never touches them. REQUIRES: every bio is one whole chunk.
class MetadataOnlyDevice final : public BlockDevice {
 public:
  explicit MetadataOnlyDevice(chunk_t chunks) : chunks_(chunks) {}
  sector_t size_sectors() const override { return chunks_ * kChunk; }
  uint32_t logical_block_size() const override { return kSectorSize; }
  std::string name() const override { return "metadata-only"; }
  void Submit(Bio bio) override {
    assert(bio.sector % kChunk == 0 && bio.sector_count == kChunk);
    const chunk_t chunk = bio.sector / kChunk;
    if (!IsMetadataChunk(kE, chunk)) {
      if (!bio.is_write()) std::memset(bio.data, 0, kChunkBytes);
      bio.end_io(0);
      return;
    }
    uint8_t* const slot = Slot(chunk);
    if (bio.is_write()) {
      std::memcpy(slot, bio.data, kChunkBytes);
    } else {
      std::memcpy(bio.data, slot, kChunkBytes);
    }
    bio.end_io(0);
  }
  void WaitFor(const bool&) override {}

  // The chunk's bytes: 0 is the header, 1 + a is area a.
  uint8_t* Slot(chunk_t chunk) {
    const size_t index = chunk == 0 ? 0 : (chunk - 1) / (kE + 1) + 1;
    if (bytes_.size() < (index + 1) * kChunkBytes) bytes_.resize((index + 1) * kChunkBytes, 0);
    return bytes_.data() + index * kChunkBytes;
  }

 private:
  chunk_t chunks_;
  std::vector<uint8_t> bytes_;
};

// A COW holding `count` exceptions, written straight into the areas as commits would leave them.
void FillTable(MetadataOnlyDevice* cow, uint64_t count) {
  EncodeHeader(DiskHeader{kSnapMagic, 1, kSnapshotDiskVersion, kChunk}, cow->Slot(0));
  for (uint64_t i = 0; i < count; ++i) {
    const chunk_t area = i / kE;
    const uint32_t slot = static_cast<uint32_t>(i % kE);
    EncodeException(cow->Slot(AreaLocation(kE, area)), slot,
                    DiskException{i * 3 + 7, AreaLocation(kE, area) + 1 + slot});
  }
  // The area after the last one (or the last, partly full one) ends the table.
  cow->Slot(AreaLocation(kE, count / kE));
}

void BM_ReadMetadataLoad(benchmark::State& state) {
  const uint64_t count = static_cast<uint64_t>(state.range(0));
  MemoryDevice origin(64);
  MetadataOnlyDevice cow(AreaLocation(kE, count / kE + 1) + 1);
  FillTable(&cow, count);
  uint64_t loaded = 0;
  for (auto _ : state) {
    PersistentStore store(&origin, &cow, kChunk, {}, nullptr);
    chunk_t checksum = 0;
    const int r = store.ReadMetadata([&checksum](chunk_t old_chunk, chunk_t new_chunk) {
      checksum += old_chunk ^ new_chunk;
      return 0;
    });
    if (r != 0) state.SkipWithError("read_metadata failed");
    benchmark::DoNotOptimize(checksum);
    loaded += count;
  }
  state.counters["exceptions_per_second"] =
      benchmark::Counter(static_cast<double>(loaded), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReadMetadataLoad)->Arg(kLoadExceptions)->Unit(benchmark::kMillisecond);

// Room for this many areas of data on the memory COW; a full device is re-initialised with the
// timer paused.
constexpr chunk_t kCommitAreas = 16;

void BM_PrepareCommitBatchOfOne(benchmark::State& state) {
  MemoryDevice origin(64);
  // One chunk more than the data needs: filling the last area zeroes the area after it, and
  // on a COW that ends right there that write fails and invalidates the store (as in 3.7.1).
  MemoryDevice cow((AreaLocation(kE, kCommitAreas) + 1) * kChunk, kSectorSize, "cow");
  auto activate = [&] {
    std::memset(cow.mutable_bytes().data(), 0, kChunkBytes);  // a never-used header
    auto store = std::make_unique<PersistentStore>(&origin, &cow, kChunk, StoreOptions{}, nullptr);
    if (store->ReadMetadata([](chunk_t, chunk_t) { return 0; }) != 0) {
      state.SkipWithError("activation failed");
    }
    return store;
  };
  auto store = activate();
  uint64_t committed = 0;
  uint64_t succeeded = 0;
  chunk_t old_chunk = 0;
  for (auto _ : state) {
    Exception e{old_chunk++, 0};
    if (store->PrepareException(&e) == -ENOSPC) {
      state.PauseTiming();
      store = activate();
      state.ResumeTiming();
      if (store->PrepareException(&e) != 0) state.SkipWithError("prepare failed");
    }
    store->CommitException(e, [&succeeded](bool ok) { succeeded += ok ? 1 : 0; });
    ++committed;
  }
  if (succeeded != committed) state.SkipWithError("a commit failed");
  state.counters["commits_per_second"] =
      benchmark::Counter(static_cast<double>(committed), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PrepareCommitBatchOfOne);

}  // namespace
}  // namespace snapsim
