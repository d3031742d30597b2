//! Shared set-up for the benchmarks: seeding helpdesks of a realistic size.
