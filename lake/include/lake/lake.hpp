// lake/lake.hpp — the umbrella header of the Lake arena library.
//
//   lake::Lake lake(1 << 20);                 // one fixed buffer, allocated once
//   auto d = lake.alloc_dyn(128);              // a droplet; tests false when the lake is full
//   lake.mark(); ...; lake.reset_to_mark();    // scoped rewinds
//   lake::LakeView v = lake.split(4096);       // a sub-arena with its own offset and marks
//
// Single-threaded by design: a Lake, its views and its droplets belong to one thread at a time.
// Give each thread its own (thread_lake_init / with_lake). See README.md for the tour.
#pragma once

#include "align.hpp"         // IWYU pragma: export
#include "arena.hpp"         // IWYU pragma: export
#include "config.hpp"        // IWYU pragma: export
#include "core.hpp"          // IWYU pragma: export
#include "droplet.hpp"       // IWYU pragma: export
#include "fbc.hpp"           // IWYU pragma: export
#include "lake_arena.hpp"    // IWYU pragma: export
#include "memory_block.hpp"  // IWYU pragma: export
#include "pmr.hpp"           // IWYU pragma: export
#include "sandbox.hpp"       // IWYU pragma: export
#include "slice.hpp"         // IWYU pragma: export
#include "staircase.hpp"     // IWYU pragma: export
#include "thread_lake.hpp"   // IWYU pragma: export
#include "version.hpp"       // IWYU pragma: export
#include "view.hpp"          // IWYU pragma: export
