//! One real `gatelog-witness` for the explorer's log, named in a
//! c2sp.org/tlog-policy file the server is started with.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gatelog_core::keys::{SignatureType, SignerKey};
use gatelog_e2e::{binary, free_addr};

/// The witness's key name.
pub const NAME: &str = "witness.explorer.gatelog.test";

/// A running witness, killed when dropped.
pub struct Witness {
    child: Child,
    /// The policy file naming it.
    pub policy: PathBuf,
}

impl Drop for Witness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a witness of the log `log_vkey` with its state in `dir`.
pub fn start(dir: &Path, log_vkey: &str) -> Witness {
    let key = SignerKey::from_seed(NAME, SignatureType::Cosignature, &[61; 32]).unwrap();
    std::fs::write(dir.join("witness.key"), key.to_private_text()).unwrap();
    let addr: SocketAddr = free_addr();
    let child = Command::new(binary("gatelog-witness"))
        .args(["--data", &dir.display().to_string()])
        .args(["--listen", &addr.to_string(), "--name", NAME])
        .args(["--log-key", log_vkey, "--rate", "1000"])
        .env_remove("GATELOG_WITNESS_KEY")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn gatelog-witness");
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(addr).is_err() {
        assert!(Instant::now() < deadline, "the witness did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    let policy = dir.join("policy");
    let text = format!("witness W1 {} http://{addr}\nquorum W1\n", key.verifier());
    std::fs::write(&policy, text).unwrap();
    Witness { child, policy }
}
