//! warm
#[allow(unused_imports)]
use rocksdb as _;
fn main() {}
