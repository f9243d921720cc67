//! `gatelog-lab`: the demo and the load generator. See `gatelog-lab --help`.

fn main() -> std::process::ExitCode {
    gatelog_lab::cli::main()
}
