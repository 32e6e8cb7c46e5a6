// SPDX-License-Identifier: GPL-2.0-only
#include "sim/world/sim_device.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "util/assert.h"

namespace snapsim {
namespace {

std::string_view OpName(const Bio& bio) {
  if (bio.is_empty_flush()) return "flush";
  return bio.is_write() ? "write" : "read";
}

uint32_t TraceFlags(const Bio& bio) {
  return (bio.preflush ? kTraceFlagPreflush : 0) | (bio.fua ? kTraceFlagFua : 0);
}

bool Overlaps(sector_t a, uint64_t a_count, sector_t b, uint64_t b_count) {
  return a < b + b_count && b < a + a_count;
}

}  // namespace

SimDevice::SimDevice(SimDeviceConfig config, Scheduler& scheduler, Prng& prng,
                     const FaultProfile& profile, Probes& probes, Trace* trace)
    : SimDevice(config, PageStore(config.size_sectors, config.initial_content), scheduler, prng,
                profile, probes, trace) {}

SimDevice::SimDevice(SimDeviceConfig config, PageStore durable, Scheduler& scheduler, Prng& prng,
                     const FaultProfile& profile, Probes& probes, Trace* trace)
    : config_(std::move(config)),
      scheduler_(scheduler),
      prng_(prng),
      profile_(profile),
      probes_(probes),
      trace_(trace),
      medium_(std::move(durable)),
      current_(PageStore::OverlayOn(medium_)) {
  SNAPSIM_ASSERT(medium_.size_sectors() == config_.size_sectors);
  SNAPSIM_ASSERT(config_.logical_block_size >= kSectorSize && config_.logical_block_size <= 4096 &&
                 (config_.logical_block_size & (config_.logical_block_size - 1)) == 0);
  last_completion_ = scheduler_.now();
}

const DeviceFaults& SimDevice::faults() const {
  return config_.role == DeviceRole::kOrigin ? profile_.origin : profile_.cow;
}

void SimDevice::TraceIo(std::string_view kind, const Bio& bio, uint64_t id, int64_t result,
                        std::string_view detail) {
  if (trace_ == nullptr) return;
  trace_->Record(TraceEvent{scheduler_.now(), kind, config_.name, OpName(bio), bio.sector,
                            bio.sector_count, TraceFlags(bio), id, result, detail});
}

int SimDevice::DecideError(const Bio& bio, uint64_t io_number) {
  const DeviceFaults& f = faults();
  if (f.eio_at_nth_io != 0 && io_number == f.eio_at_nth_io) {
    probes_.Bump(Probe::kIoNthEio);
    return -EIO;
  }
  if (f.eio_range_count != 0 && bio.sector_count != 0 &&
      Overlaps(bio.sector, bio.sector_count, f.eio_range_start, f.eio_range_count)) {
    probes_.Bump(Probe::kIoRangeEio);
    return -EIO;
  }
  if (!bio.is_write() && prng_.Chance(f.read_eio)) {
    probes_.Bump(Probe::kIoReadEio);
    return -EIO;
  }
  if (bio.is_write() && bio.sector_count != 0 && prng_.Chance(f.write_eio)) {
    probes_.Bump(Probe::kIoWriteEio);
    return -EIO;
  }
  return 0;
}

SimTime SimDevice::DrawLatency() {
  const SimTime now = scheduler_.now();
  SimTime at = now + prng_.UintInclusive(profile_.latency_min_ns, profile_.latency_max_ns);
  if (prng_.Chance(profile_.slow_io)) {
    probes_.Bump(Probe::kSchedSlowIo);
    at = now + prng_.UintInclusive(profile_.latency_max_ns, profile_.slow_io_latency_max_ns);
  }
  if (!prng_.Chance(profile_.reorder)) {
    at = std::max(at, last_completion_);  // FIFO: no earlier than anything before it
  } else if (at < last_completion_) {
    probes_.Bump(Probe::kSchedReorderedCompletion);
  }
  last_completion_ = std::max(last_completion_, at);
  return at - now;
}

void SimDevice::Submit(Bio bio) {
  SNAPSIM_ASSERT(!crashed_ && "I/O to a crashed device: Restart() it first");
  SNAPSIM_ASSERT(bio.sector <= config_.size_sectors &&
                 bio.sector_count <= config_.size_sectors - bio.sector);
  SNAPSIM_ASSERT(bio.sector_count == 0 || bio.data != nullptr);
  SNAPSIM_ASSERT(bio.sector_count != 0 || bio.is_empty_flush());
  [[maybe_unused]] const uint32_t lbs_sectors = config_.logical_block_size / kSectorSize;
  SNAPSIM_ASSERT(bio.sector % lbs_sectors == 0 && bio.sector_count % lbs_sectors == 0);
  SNAPSIM_ASSERT(in_flight_.size() < kMaxInFlight && "too many bios in flight");

  const uint64_t id = next_io_id_++;
  InFlightIo io;
  io.error = DecideError(bio, id);
  io.flush_marker = writes_completed_;
  io.epoch = flushes_submitted_;
  io.target = bio.sector;
  if (bio.preflush) ++flushes_submitted_;
  if (bio.op == BioOp::kRead) RecordRead(bio.sector, bio.sector_count);
  if (bio.is_write() && bio.sector_count != 0) {
    if (io.error == 0 && prng_.Chance(profile_.misdirected_write)) {
      const sector_t room = (config_.size_sectors - bio.sector_count) / lbs_sectors;
      io.target = prng_.UintInclusive(0, room) * lbs_sectors;
      if (io.target != bio.sector) {
        probes_.Bump(Probe::kBeyondMisdirectedWrite);
        RecordFault(Probe::kBeyondMisdirectedWrite, id, io.target, bio.sector_count, bio.sector);
      }
    }
    io.data = WriteBuffer(io.target, bio.sector_count, bio.data);
  }
  TraceIo("submit", bio, id, 0);
  io.bio = std::move(bio);
  in_flight_.emplace(id, std::move(io));
  scheduler_.Schedule(DrawLatency(), [this, id] { Complete(id); });
}

void SimDevice::WaitFor(const bool& done) {
  if (!scheduler_.RunUntil([&done] { return done; })) {
    throw SimulationStuck(config_.name + ": waited for an I/O that can never complete");
  }
}

void SimDevice::Complete(uint64_t id) {
  auto node = in_flight_.extract(id);
  if (node.empty()) return;  // dropped by a crash
  InFlightIo& io = node.mapped();
  Bio& bio = io.bio;
  int result = io.error;
  if (result == 0 && bio.preflush) FlushCache(io.flush_marker, id);
  if (result == 0 && bio.sector_count != 0) {
    if (bio.is_write()) {
      CompleteWrite(id, io);
    } else {
      if (medium_.HasLatentError(bio.sector, bio.sector_count)) {
        probes_.Bump(Probe::kIoLatentReadError);
        result = -EIO;
      } else {
        current_.Read(bio.sector, bio.sector_count, bio.data);
      }
    }
  }
  TraceIo("complete", bio, id, result);
  BioEndIo end_io = std::move(bio.end_io);
  if (end_io) end_io(result);
}

void SimDevice::FlushCache(uint64_t marker, uint64_t id) {
  if (prng_.Chance(profile_.lying_flush)) {
    probes_.Bump(Probe::kBeyondLyingFlush);
    RecordFault(Probe::kBeyondLyingFlush, id, 0, 0, 0);
    return;
  }
  // The cache is in completion order, so the writes completed before the marker are a prefix.
  while (!cache_.empty() && cache_.front().completion_seq < marker) {
    CacheEntry& entry = cache_.front();
    MakeDurable(entry.write_id, entry.intended_sector, entry.sector, entry.data);
    cache_.pop_front();
  }
}

void SimDevice::CompleteWrite(uint64_t id, InFlightIo& io) {
  const sector_t sector = io.target;
  const uint32_t count = io.bio.sector_count;
  const uint64_t seq = writes_completed_++;
  current_.Write(sector, io.data);
  if (write_log_ != nullptr) write_log_->push_back(CompletedWrite{sector, io.data});
  // A rewrite clears latent errors; a fresh one may appear on the new sectors.
  medium_.ClearLatentErrors(sector, count);
  if (prng_.Chance(faults().latent_read_error)) {
    medium_.AddLatentError(sector + prng_.UintLessThan(count));
  }
  if (io.bio.fua || !profile_.write_cache) {
    // Older cached writes must not bring stale data back over this one at a crash: they now
    // carry this write's data on the shared sectors (a device never writes back stale data).
    for (CacheEntry& older : cache_) {
      if (!Overlaps(older.sector, older.sector_count, sector, count)) continue;
      const sector_t from = std::max(older.sector, sector);
      const sector_t to = std::min(older.sector + older.sector_count, sector + count);
      for (sector_t at = from; at < to; ++at) {
        std::memcpy(older.data.mutable_sector_data(at - older.sector),
                    io.data.sector_data(at - sector), kSectorSize);
      }
    }
    MakeDurable(id, io.bio.sector, sector, io.data);
    return;
  }
  SNAPSIM_ASSERT(cache_.size() < kMaxCachedWrites && "write cache full: flush more often");
  cache_.push_back(
      CacheEntry{id, seq, flushes_submitted_, io.bio.sector, sector, count, std::move(io.data)});
}

void SimDevice::MakeDurable(uint64_t write_id, sector_t intended, sector_t sector,
                            const WriteBuffer& data) {
  const uint32_t count = static_cast<uint32_t>(data.sector_count());
  if (prng_.Chance(profile_.lost_durable_write)) {
    probes_.Bump(Probe::kBeyondLostDurableWrite);
    RecordFault(Probe::kBeyondLostDurableWrite, write_id, sector, count, sector);
    medium_.LoseWrite(intended, data);
    return;
  }
  medium_.Land(intended, sector, data);
  if (prng_.Chance(profile_.corrupted_sector)) {
    const sector_t bad = sector + prng_.UintLessThan(count);
    uint8_t bytes[kSectorSize];
    medium_.Read(bad, 1, bytes);
    const uint32_t offset = static_cast<uint32_t>(prng_.UintLessThan(kSectorSize));
    bytes[offset] ^= static_cast<uint8_t>(1 + prng_.UintLessThan(255));  // never a no-op
    medium_.Damage(bad, bytes);
    probes_.Bump(Probe::kBeyondCorruptedSector);
    RecordFault(Probe::kBeyondCorruptedSector, write_id, bad, 1, bad);
  }
}

void SimDevice::RecordFault(Probe probe, uint64_t write_id, sector_t sector, uint32_t count,
                            sector_t intended) {
  if (trace_ != nullptr) {
    trace_->Record(TraceEvent{scheduler_.now(), "fault", config_.name, "", sector, count,
                              kTraceFlagBeyondContract, write_id, 0, ProbeName(probe)});
  }
  if (applied_faults_.size() < kMaxAppliedFaults) {
    applied_faults_.push_back(AppliedFault{probe, write_id, sector, count, intended});
  }
}

std::vector<CachedWrite> SimDevice::NonDurableWrites() const {
  std::vector<CachedWrite> writes;
  writes.reserve(cache_.size());
  for (const CacheEntry& entry : cache_) {
    writes.push_back(
        CachedWrite{entry.write_id, entry.sector, entry.sector_count, entry.epoch, false});
  }
  for (const auto& [id, io] : in_flight_) {
    if (!io.bio.is_write() || io.bio.sector_count == 0 || io.error != 0) continue;
    writes.push_back(CachedWrite{id, io.target, io.bio.sector_count, flushes_submitted_, true});
  }
  return writes;
}

PageStore SimDevice::CrashImage(const std::vector<WriteFate>& fates) const {
  DurableMedium medium = medium_;
  ApplyFates(fates, medium);
  return std::move(medium).Flattened();
}

void SimDevice::ReplayOverBase(const std::vector<CompletedWrite>& writes) {
  SNAPSIM_ASSERT(in_flight_.empty() && !crashed_ && !medium_.has_faults());
  medium_.DropOverlayPages();
  current_.Clear();
  for (const CompletedWrite& w : writes) current_.Write(w.sector, w.data);
}

void SimDevice::RebuildCrashImage(const std::vector<WriteFate>& fates, DurableMedium& image) const {
  // A write changes the medium where it was sent and where it lands (a misdirected one differs).
  auto restore = [&](sector_t intended, sector_t lands, uint32_t count) {
    image.CopySectorsFrom(medium_, intended, count);
    if (lands != intended) image.CopySectorsFrom(medium_, lands, count);
  };
  for (const CacheEntry& entry : cache_) {
    restore(entry.intended_sector, entry.sector, entry.sector_count);
  }
  for (const auto& [id, io] : in_flight_) {
    if (!io.bio.is_write() || io.bio.sector_count == 0 || io.error != 0) continue;
    restore(io.bio.sector, io.target, io.bio.sector_count);
  }
  ApplyFates(fates, image);
}

void SimDevice::ApplyFates(const std::vector<WriteFate>& fates, DurableMedium& medium) const {
  // A FLUSH|... write reaches the medium only after its preflush completed, so if an in-flight
  // preflush write landed (even torn), every write completed before it was submitted is durable
  // whatever fate was drawn for it. Find the latest such flush point first.
  uint64_t forced_durable_before = 0;
  {
    size_t i = cache_.size();
    for (const auto& [id, io] : in_flight_) {
      if (!io.bio.is_write() || io.bio.sector_count == 0 || io.error != 0) continue;
      SNAPSIM_ASSERT(i < fates.size());
      if (io.bio.preflush && fates[i].fate != Fate::kDrop) {
        forced_durable_before = std::max(forced_durable_before, io.flush_marker);
      }
      ++i;
    }
  }
  static const WriteFate kForcedKeep = WriteFate::Keep();
  size_t index = 0;
  uint64_t completion_seq = 0;  // of the cache entry being applied; in-flight writes: none
  bool in_cache = true;
  auto apply = [&](sector_t intended, sector_t sector, const WriteBuffer& data) {
    const uint64_t count = data.sector_count();
    SNAPSIM_ASSERT(index < fates.size());
    const WriteFate& drawn = fates[index++];
    const WriteFate& fate =
        in_cache && completion_seq < forced_durable_before ? kForcedKeep : drawn;
    uint8_t partial[kSectorSize];
    if (fate.partial_bytes != 0) {
      SNAPSIM_ASSERT(fate.fate != Fate::kDrop && fate.partial_sector < count &&
                     fate.partial_bytes < kSectorSize &&
                     fate.partial_offset + fate.partial_bytes <= kSectorSize);
      medium.Read(sector + fate.partial_sector, 1, partial);
    }
    switch (fate.fate) {
      case Fate::kKeep:
        medium.Land(intended, sector, data);
        break;
      case Fate::kDrop:
        break;
      case Fate::kTear:
        SNAPSIM_ASSERT(fate.landed.size() == count);
        for (uint32_t i = 0; i < count; ++i) {
          if (fate.landed[i]) medium.Land(intended + i, sector + i, 1, data.sector_data(i));
        }
        break;
    }
    if (fate.partial_bytes != 0) {
      // The sector holds its content from before this write with only a run (prefix, suffix or
      // middle) of the new one.
      LandPartialSector(fate, data.sector_data(fate.partial_sector), partial);
      medium.Damage(sector + fate.partial_sector, partial);
    }
  };
  for (const CacheEntry& entry : cache_) {
    completion_seq = entry.completion_seq;
    apply(entry.intended_sector, entry.sector, entry.data);
  }
  in_cache = false;
  for (const auto& [id, io] : in_flight_) {
    if (!io.bio.is_write() || io.bio.sector_count == 0 || io.error != 0) continue;
    apply(io.bio.sector, io.target, io.data);
  }
  SNAPSIM_ASSERT(index == fates.size() && "one fate per non-durable write");
}

void SimDevice::ApplyCrash(const std::vector<WriteFate>& fates) {
  SNAPSIM_ASSERT(!crashed_);
  const std::vector<CachedWrite> writes = NonDurableWrites();
  ApplyFates(fates, medium_);
  for (size_t i = 0; i < fates.size(); ++i) {
    SNAPSIM_ASSERT(FateFits(fates[i], writes[i]));
    if (writes[i].in_flight) probes_.Bump(Probe::kCrashInFlightWrite);
    std::string_view fate_name;
    switch (fates[i].fate) {
      case Fate::kKeep:
        probes_.Bump(Probe::kCrashWriteKept);
        fate_name = "kept";
        break;
      case Fate::kDrop:
        probes_.Bump(Probe::kCrashWriteDropped);
        fate_name = "dropped";
        break;
      case Fate::kTear:
        probes_.Bump(Probe::kCrashWriteTorn);
        fate_name = "torn";
        break;
    }
    // One line per non-durable write, in NonDurableWrites() order: the timeline colours each
    // write by what the crash did to it.
    if (trace_ != nullptr) {
      trace_->Record(TraceEvent{scheduler_.now(), "fate", config_.name, "write", writes[i].sector,
                                writes[i].sector_count, 0, writes[i].write_id, 0, fate_name});
    }
    if (fates[i].partial_bytes != 0) {
      probes_.Bump(Probe::kBeyondSubsectorTear);
      RecordFault(Probe::kBeyondSubsectorTear, writes[i].write_id,
                  writes[i].sector + fates[i].partial_sector, 1,
                  writes[i].sector + fates[i].partial_sector);
    }
  }
  if (trace_ != nullptr) {
    trace_->Record(
        TraceEvent{scheduler_.now(), "crash", config_.name, "", 0, fates.size(), 0, 0, 0, {}});
  }
  cache_.clear();
  in_flight_.clear();  // their completions never run; end_io is not called
  current_.Clear();    // reads through to the durable medium again
  crashed_ = true;
  SNAPSIM_ASSERT(cache_.empty() && in_flight_.empty() && "a crash leaves no volatile state");
}

void SimDevice::Crash(Prng& crash_prng) {
  ApplyCrash(DrawFates(NonDurableWrites(), profile_, crash_prng));
}

void SimDevice::Restart() {
  SNAPSIM_ASSERT(crashed_);
  SNAPSIM_ASSERT(cache_.empty() && in_flight_.empty());
  crashed_ = false;
  last_completion_ = scheduler_.now();
}

}  // namespace snapsim
