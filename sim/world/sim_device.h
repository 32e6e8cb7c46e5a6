// SPDX-License-Identifier: GPL-2.0-only
//
// SimDevice: a simulated block device with a volatile write cache, a durable medium, scheduled
// completions and the fault profile's faults (SPEC section 4).
//
// Semantics:
//  - Every bio completes at a scheduled event, its latency drawn from the device stream.
//  - A write completes into the volatile cache (reads see it from then on). It becomes durable
//    when a FLUSH submitted after its completion completes, at its own completion if it carries
//    FUA, or at completion when the write cache is off.
//  - A bio with preflush, at its completion, first makes durable every write that had completed
//    when it was submitted (not later ones, not other devices'), then performs its data part.
//  - A crash: each non-durable write (cached, or in flight: an in-flight write may have reached
//    the medium, so it is modelled as a non-durable write too) meets a fate (crash.h); then the
//    cache is empty, the current image is the durable medium, and the device refuses I/O until
//    Restart().
//  - A failed (EIO) write changes nothing; a failed preflush makes nothing durable.
//
// Invariants:
//  - current_ reads as the medium with every write completed since the last crash applied in
//    completion order; it is an overlay on medium_ (page_store.h) holding the pages written
//    since the last crash, so a crash costs what was written, not the device size.
//  - At most kMaxInFlight bios in flight, kMaxCachedWrites writes in the cache.
//  - Pristine and faulted data are kept apart (durable_medium.h): the medium's pristine part
//    holds what the contract says landed, its fault overlay what the faults changed (damaged
//    sectors, latent read errors), and reads go through the overlay. Every fault applied is
//    also listed in applied_faults() (where, which write, which family).
//  - Medium faults strike when a write is made durable, so they show in reads only once the
//    cache no longer serves the sector, i.e. after a crash.
//
// Lifetime: the Scheduler, Prng, FaultProfile, Probes and Trace outlive the device; scheduled
// completions refer to the device, so destroy it only after Scheduler::Clear() or when idle.
#ifndef SNAPSIM_SIM_WORLD_SIM_DEVICE_H_
#define SNAPSIM_SIM_WORLD_SIM_DEVICE_H_

#include <cerrno>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "core/block_device.h"
#include "sim/world/crash.h"
#include "sim/world/durable_medium.h"
#include "sim/world/fault_profile.h"
#include "sim/world/page_store.h"
#include "sim/world/prng.h"
#include "sim/world/probes.h"
#include "sim/world/scheduler.h"
#include "sim/world/trace.h"

namespace snapsim {

enum class DeviceRole : uint8_t { kOrigin, kCow };

struct SimDeviceConfig {
  std::string name;
  DeviceRole role = DeviceRole::kOrigin;  // picks the profile's per-device faults
  sector_t size_sectors = 0;
  uint32_t logical_block_size = kSectorSize;  // bytes, a power of 2 in [512, 4096]
  SectorGenerator initial_content = ZeroContent();
};

// A fault applied to the device's content (beyond-contract families, for reports and checkers).
struct AppliedFault {
  Probe probe;
  uint64_t write_id;
  sector_t sector;  // where the damage is
  uint32_t sector_count;
  sector_t intended_sector;  // misdirected writes: where it should have gone
};

class SimDevice : public BlockDevice {
 public:
  // A write that completed: where it landed and its data (RecordCompletedWritesInto).
  struct CompletedWrite {
    sector_t sector = 0;
    WriteBuffer data;
  };

  static constexpr size_t kMaxInFlight = 1u << 16;
  static constexpr size_t kMaxCachedWrites = 1u << 20;
  static constexpr size_t kMaxAppliedFaults = 1u << 16;  // older entries are not kept

  SimDevice(SimDeviceConfig config, Scheduler& scheduler, Prng& prng, const FaultProfile& profile,
            Probes& probes, Trace* trace);
  // Reopens a device over an existing durable image (after a crash, or an image file): the
  // image becomes the pristine medium, with no faults.
  // REQUIRES: durable.size_sectors() == config.size_sectors. An overlay's base (the explorer's
  // crash states) must outlive the device.
  SimDevice(SimDeviceConfig config, PageStore durable, Scheduler& scheduler, Prng& prng,
            const FaultProfile& profile, Probes& probes, Trace* trace);

  // BlockDevice.
  sector_t size_sectors() const override { return config_.size_sectors; }
  uint32_t logical_block_size() const override { return config_.logical_block_size; }
  std::string name() const override { return config_.name; }
  // REQUIRES: !crashed(); in range; aligned to the logical block size.
  void Submit(Bio bio) override;
  // Runs the scheduler until done; throws SimulationStuck if the world goes idle first.
  void WaitFor(const bool& done) override;

  const SimDeviceConfig& config() const { return config_; }
  DeviceRole role() const { return config_.role; }

  // The writes a crash now could lose, in the order they would reach the medium.
  std::vector<CachedWrite> NonDurableWrites() const;
  // The durable image a crash with these fates leaves, faults applied; changes nothing.
  // REQUIRES: fates.size() == NonDurableWrites().size(), each FateFits.
  PageStore CrashImage(const std::vector<WriteFate>& fates) const;
  // The explorer's crash states of one crash point, one after another: makes `image` (a copy of
  // medium(), or what earlier calls made of one) what CrashImage(fates) is before it is
  // flattened, restoring and rewriting only the sectors the non-durable writes touch.
  // REQUIRES: as CrashImage; no I/O on the device since `image` was copied from medium().
  void RebuildCrashImage(const std::vector<WriteFate>& fates, DurableMedium& image) const;
  // Crashes the device with these fates (bumping the crash probes).
  void ApplyCrash(const std::vector<WriteFate>& fates);
  // Crashes the device with fates drawn from `crash_prng` and the profile.
  void Crash(Prng& crash_prng);
  bool crashed() const { return crashed_; }
  // Accepts I/O again after a crash, as after a reboot: same durable image, empty cache.
  void Restart();

  SimDevice(const SimDevice&) = delete;
  SimDevice& operator=(const SimDevice&) = delete;

  // The content a read returns now (cache over the durable medium). It reads through to the
  // device's medium: use it while the device lives.
  const PageStore& current_image() const { return current_; }
  // What a real disk would hold after a power cut now: the pristine medium with the fault
  // overlay applied. A copy, to keep as a crash state or to export.
  PageStore durable_image() const { return medium_.Flattened(); }
  // The medium in its two parts: medium().pristine() is what the contract says landed,
  // medium().damaged_sectors() and latent_errors() the faults on top of it.
  const DurableMedium& medium() const { return medium_; }
  // Reads the current content directly: no time, no faults. For checkers and exports.
  void ReadCurrent(sector_t sector, uint64_t count, uint8_t* out) const {
    RecordRead(sector, count);
    current_.Read(sector, count, out);
  }

  // What a read of [sector, +count) submitted now would return with no fault injected (quiet
  // faults) and nothing in flight: -EIO on a latent read error, else 0 and the current content.
  int ReadAsQuietRead(sector_t sector, uint32_t count, uint8_t* out) const {
    RecordRead(sector, count);
    if (medium_.HasLatentError(sector, count)) return -EIO;
    current_.Read(sector, count, out);
    return 0;
  }

  const absl::btree_set<sector_t>& latent_errors() const { return medium_.latent_errors(); }
  const std::vector<AppliedFault>& applied_faults() const { return applied_faults_; }
  size_t in_flight() const { return in_flight_.size(); }
  size_t cached_writes() const { return cache_.size(); }
  uint64_t ios_submitted() const { return next_io_id_ - 1; }

  // Every sector read from now on (read bios, ReadCurrent, ReadAsQuietRead) is added to `sectors`
  // until this is called again with null. The explorer learns what a recovery read this way.
  void RecordReadsInto(absl::btree_set<sector_t>* sectors) { read_log_ = sectors; }
  // Every write that completes from now on is added to `writes`, in completion order, until this
  // is called again with null.
  void RecordCompletedWritesInto(std::vector<CompletedWrite>* writes) { write_log_ = writes; }
  // The explorer's reuse of a scratch check's recovery: the device reads as when it was built
  // over its durable image (an overlay, whose base holds another crash state now), with `writes`
  // (what the recovery wrote, recorded) completed over it again.
  // REQUIRES: built over an overlay; nothing in flight; no fault since (quiet).
  void ReplayOverBase(const std::vector<CompletedWrite>& writes);

 private:
  struct InFlightIo {
    Bio bio;
    int error = 0;              // decided at submission
    uint64_t flush_marker = 0;  // preflush: writes completed when it was submitted
    uint64_t epoch = 0;         // flushes submitted before it
    sector_t target = 0;        // where a write lands (misdirected: elsewhere)
    WriteBuffer data;           // a write's data, copied at submission
  };
  struct CacheEntry {
    uint64_t write_id;
    uint64_t completion_seq;
    uint64_t epoch;
    sector_t intended_sector;  // where it was sent
    sector_t sector;           // where it lands (differs when misdirected)
    uint32_t sector_count;
    WriteBuffer data;
  };

  const DeviceFaults& faults() const;
  int DecideError(const Bio& bio, uint64_t io_number);
  SimTime DrawLatency();
  void Complete(uint64_t id);
  void FlushCache(uint64_t marker, uint64_t id);
  void CompleteWrite(uint64_t id, InFlightIo& io);
  // Applies one fate per non-durable write to `medium`, in medium order.
  void ApplyFates(const std::vector<WriteFate>& fates, DurableMedium& medium) const;
  // Writes to the medium a write sent to `intended` that lands at `sector` (lost-write and
  // corruption faults apply here).
  void MakeDurable(uint64_t write_id, sector_t intended, sector_t sector, const WriteBuffer& data);
  void RecordFault(Probe probe, uint64_t write_id, sector_t sector, uint32_t count,
                   sector_t intended);
  void TraceIo(std::string_view kind, const Bio& bio, uint64_t id, int64_t result,
               std::string_view detail = {});
  void RecordRead(sector_t sector, uint64_t count) const {
    if (read_log_ == nullptr) return;
    for (uint64_t i = 0; i < count; ++i) read_log_->insert(sector + i);
  }

  SimDeviceConfig config_;
  Scheduler& scheduler_;
  Prng& prng_;
  const FaultProfile& profile_;
  Probes& probes_;
  Trace* trace_;

  DurableMedium medium_;
  PageStore current_;                                // an overlay on medium_
  std::deque<CacheEntry> cache_;                     // completion order
  absl::btree_map<uint64_t, InFlightIo> in_flight_;  // by I/O id
  std::vector<AppliedFault> applied_faults_;

  uint64_t next_io_id_ = 1;
  absl::btree_set<sector_t>* read_log_ = nullptr;     // RecordReadsInto
  std::vector<CompletedWrite>* write_log_ = nullptr;  // RecordCompletedWritesInto
  uint64_t writes_completed_ = 0;
  uint64_t flushes_submitted_ = 0;
  SimTime last_completion_ = 0;  // latest completion time scheduled (FIFO clamp)
  bool crashed_ = false;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORLD_SIM_DEVICE_H_
