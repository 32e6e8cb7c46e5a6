// SPDX-License-Identifier: GPL-2.0-only
//
// DurableMedium: what a simulated device holds across a power cut, kept as two parts so that a
// checker or a test can tell what the device promised from what the faults did to it.
//
//  - pristine(): exactly what the device contract says landed. Every write that reached the
//    medium is here, at the sector it was sent to, whole (within the contract, sectors are
//    atomic), whatever beyond-contract fault struck it.
//  - The fault overlay: sectors whose content differs from pristine() because of a fault
//    (damaged_sectors(): a corrupted byte, a durable write that was lost, a misdirected write
//    that landed elsewhere, a sub-sector tear), and sectors whose reads fail until rewritten
//    (latent_errors()). Latent errors change no content.
//
// Read() goes through the overlay: it is what a real disk would return, and what every read of
// the device, a crash state and an exported image see. Flattened() is that content as one store.
//
// Invariants:
//  - Every change of pristine() goes through Land(), which heals the overlay on the sectors it
//    writes (a rewrite replaces a damaged sector); only Damage() adds to the overlay.
//  - A damaged sector's bytes are whole sectors, never merged with pristine() on read.
//
// Lifetime: a device's current image reads through to its medium (PageStore::OverlayOn), so the
// medium must keep its address while that overlay lives.
#ifndef SNAPSIM_SIM_WORLD_DURABLE_MEDIUM_H_
#define SNAPSIM_SIM_WORLD_DURABLE_MEDIUM_H_

#include <array>
#include <cstdint>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "core/format.h"
#include "sim/world/page_store.h"

namespace snapsim {

using SectorBytes = std::array<uint8_t, kSectorSize>;

class DurableMedium final : public SectorSource {
 public:
  // A medium holding `pristine`, with no faults. `pristine` may be an overlay
  // (PageStore::OverlayOn): the explorer's scratch checks read a crash state it builds that way,
  // and its base must then outlive the medium and keep its address.
  explicit DurableMedium(PageStore pristine);

  sector_t size_sectors() const override { return pristine_.size_sectors(); }
  // The content with the fault overlay applied (what a real disk returns).
  void Read(sector_t sector, uint64_t count, uint8_t* out) const override;

  // A write reaching the medium. It was sent to `intended`; it lands at `actual`, which differs
  // only for a misdirected write: pristine() then holds it at `intended`, while the overlay
  // keeps `intended`'s old content and holds the data at `actual`.
  // REQUIRES: both ranges in the device.
  void Land(sector_t intended, sector_t actual, const WriteBuffer& data);
  void Land(sector_t intended, sector_t actual, uint64_t count, const uint8_t* data);
  // A durable write the medium silently lost: pristine() holds it, Read() the old content.
  void LoseWrite(sector_t intended, const WriteBuffer& data);
  // The medium holds `bytes` (one sector) at `sector` whatever pristine() says.
  void Damage(sector_t sector, const uint8_t* bytes);

  // A medium over an overlay (the constructor): reads its base again, as when it was made, with
  // no fault. REQUIRES: pristine() is an overlay.
  void DropOverlayPages();
  // [sector, +count) becomes exactly what `from` holds there: pristine bytes, damage and latent
  // errors. REQUIRES: the range in both media.
  void CopySectorsFrom(const DurableMedium& from, sector_t sector, uint64_t count);

  bool HasLatentError(sector_t sector, uint64_t count) const;
  void AddLatentError(sector_t sector) { latent_errors_.insert(sector); }
  // A rewrite of [sector, sector + count) clears the latent errors there.
  void ClearLatentErrors(sector_t sector, uint64_t count);

  const PageStore& pristine() const { return pristine_; }
  const absl::btree_map<sector_t, SectorBytes>& damaged_sectors() const { return damaged_; }
  const absl::btree_set<sector_t>& latent_errors() const { return latent_errors_; }
  bool has_faults() const { return !damaged_.empty() || !latent_errors_.empty(); }

  // The content Read() returns, as one store with no overlay (for crash states and exports).
  PageStore Flattened() const&;
  PageStore Flattened() &&;

 private:
  // Saves what Read() returns for [sector, sector + count) as damaged sectors.
  void KeepCurrentContent(sector_t sector, uint64_t count);
  void Heal(sector_t sector, uint64_t count);

  PageStore pristine_;
  absl::btree_map<sector_t, SectorBytes> damaged_;
  absl::btree_set<sector_t> latent_errors_;
};

}  // namespace snapsim

#endif  // SNAPSIM_SIM_WORLD_DURABLE_MEDIUM_H_
