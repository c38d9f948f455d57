//! The `zonechaos` binary; everything lives in [`zonechaos::cli`].

fn main() -> std::process::ExitCode {
    zonechaos::cli::main()
}
