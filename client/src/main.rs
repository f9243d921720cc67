//! `gatelog`: the gatelog command line (see [`gatelog_client::cli`]).

fn main() -> std::process::ExitCode {
    gatelog_client::cli::main()
}
