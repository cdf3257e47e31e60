//! The platform-desk binary: parse the command line and run it.

use std::process::ExitCode;

/// jemalloc, not glibc's malloc: under the load benchmark glibc's allocator and its
/// consolidation of freed chunks were about 15% of the server's CPU, spread over every
/// layer. jemalloc cut CPU per filed request by a few percent in paired rounds (up to a
/// sixth in the VM's fast minutes) for about 3 MiB more resident memory
/// (docs/performance.md, "The allocator"). Its `unprefixed` feature (Cargo.toml)
/// makes it the C `malloc` too, so the bundled SQLite allocates from it as well.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    platform_desk::cli::main()
}
