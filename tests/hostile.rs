//! The hostile input matrix: every endpoint of the log and every input of
//! the command-line tools gets a table of bad inputs. Each case must be
//! refused with a clear error (a 4xx with a JSON error naming the problem,
//! or a non-zero exit with a message on stderr) and must change nothing:
//! the log's verified tree size and root are compared before and after,
//! and the files a tool was given are compared too.
//!
//! Adding a case is one line in the table of its module. Each test prints
//! how many cases it ran; docs/reliability.md lists the classes.

#[path = "hostile/cli.rs"]
mod cli;
#[path = "hostile/cli_client.rs"]
mod cli_client;
#[path = "hostile/cli_monitor.rs"]
mod cli_monitor;
#[path = "hostile/cli_server.rs"]
mod cli_server;
#[path = "hostile/common.rs"]
mod common;
#[path = "hostile/http.rs"]
mod http;
#[path = "hostile/http_reads.rs"]
mod http_reads;
#[path = "hostile/http_writes.rs"]
mod http_writes;

#[test]
fn http_endpoints_refuse_hostile_input_and_change_nothing() {
    let n = http::run();
    eprintln!("hostile input: {n} HTTP cases refused, the log unchanged after each");
}

#[test]
fn the_gatelog_cli_refuses_hostile_input_and_changes_nothing() {
    let log = gatelog_e2e::TestLog::start("hostile-cli.gatelog.test/log");
    http_writes::seed(&log);
    let key = gatelog_core::VerifierKey::parse(&log.vkey).expect("log key");
    let vars = cli_client::vars(&log);
    // The control run: the same command with good inputs passes.
    let control = cli::case("control", "gatelog", &cli_client::VERIFY, 0, "")
        .file("package-lock.json", "{good_lock}");
    cli::control(&control, &vars);
    let head = common::head(log.server.addr, &key);
    let unchanged = |case: &str, _: &std::path::Path| {
        common::assert_unchanged(log.server.addr, &key, head, case)
    };
    let n = cli::run_all(cli_client::rows(&log), &vars, &unchanged);
    eprintln!(
        "hostile input: {n} gatelog cases refused, the log and the given files unchanged after each"
    );
}

#[test]
fn the_server_refuses_hostile_config_keys_and_flags_and_changes_nothing() {
    let template = tempfile::tempdir().expect("tempdir");
    let note = cli_server::template(template.path());
    let vars = cli_server::vars();
    let unchanged = |case: &str, dir: &std::path::Path| cli_server::unchanged(case, dir, &note);
    let n = cli::run_all(cli_server::rows(template.path()), &vars, &unchanged);
    eprintln!(
        "hostile input: {n} gatelog-server cases refused, the data folder and the log unchanged after each"
    );
}

#[test]
fn the_monitor_refuses_hostile_config_keys_and_state_and_changes_nothing() {
    let log = gatelog_e2e::TestLog::start("hostile-monitor.gatelog.test/log");
    http_writes::seed(&log);
    let key = gatelog_core::VerifierKey::parse(&log.vkey).expect("log key");
    let vars = cli_monitor::vars(&log);
    // The control run: a new state over the seeded log, no alert.
    cli::control(&cli_monitor::control(), &vars);
    let head = common::head(log.server.addr, &key);
    let unchanged = |case: &str, _: &std::path::Path| {
        common::assert_unchanged(log.server.addr, &key, head, case)
    };
    let n = cli::run_all(cli_monitor::rows(), &vars, &unchanged);
    eprintln!(
        "hostile input: {n} gatelog-monitor cases refused, the log and the state unchanged after each"
    );
}
