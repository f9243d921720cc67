//! The hostile input matrix: every endpoint of the log and every input of
//! the command-line tools gets a table of bad inputs. Each case must be
//! refused with a clear error (a 4xx with a JSON error naming the problem,
//! or a non-zero exit with a message on stderr) and must change nothing:
//! the log's verified tree size and root are compared before and after,
//! and the files a tool was given are compared too.
//!
//! Adding a case is one line in the table of its module. Each test prints
//! how many cases it ran; docs/reliability-hostile.md lists the classes.

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
