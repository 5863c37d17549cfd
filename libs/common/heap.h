// Keeping a service's heap mapped between request bursts.
#pragma once

namespace agentwatch::common {

// Process-wide (glibc) and idempotent: fixes malloc's trim threshold at
// 256 MiB and its mmap threshold at 32 MiB. A write path that allocates and
// frees megabytes in small chunks per batch (a parsed request, its aggregate
// or plan, statement parameters, result rows) otherwise hands the freed top
// of the heap back to the kernel after every batch and faults it in again
// for the next, under glibc's dynamic thresholds; in a VM those faults cost
// 20-30 % of the monitor's CPU under ingest load. With fixed thresholds the
// pages stay mapped: the resident size stays at the high-water mark of the
// concurrent batches. Called at the start of main() by the services with
// such write paths (monitor ingest, incident intake) and by load generators.
void KeepHeapMapped();

}  // namespace agentwatch::common
