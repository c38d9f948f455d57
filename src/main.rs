//! The `zonechaos` binary; everything lives in [`zonechaos::cli`].

/// mimalloc rather than the system allocator: `whatif` and the loader
/// allocate many small, short-lived values, and with glibc's malloc a third
/// of `whatif`'s time went to malloc and free (BENCHMARKS.md, stop 18).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    zonechaos::cli::main()
}
