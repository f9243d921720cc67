//! The latest checkpoint the witness cosigned for each log origin, in
//! RocksDB. A record changes only through [`State::update`], which reads,
//! decides and writes under one lock, with a synced write, before the
//! caller answers: two requests can never both pass the check against the
//! same old size, and an answer is never sent for a record that a crash
//! could lose.

use std::path::Path;
use std::sync::Mutex;

use gatelog_core::Hash;
use rocksdb::{DB, Options, WriteBatch, WriteOptions};

/// The latest cosigned checkpoint of one log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// Its tree size.
    pub size: u64,
    /// Its root hash.
    pub root: Hash,
    /// The checkpoint note with the log signatures the witness verified and
    /// the witness's own cosignature.
    pub note: Vec<u8>,
}

/// The witness's durable state.
pub struct State {
    db: DB,
    lock: Mutex<()>,
}

fn key(origin: &str) -> Vec<u8> {
    let mut k = b"L".to_vec();
    k.extend_from_slice(origin.as_bytes());
    k
}

fn decode(origin: &str, v: &[u8]) -> Result<Cosigned, String> {
    if v.len() < 40 {
        return Err(format!("the record of {origin:?} is damaged (too short)"));
    }
    let size = u64::from_be_bytes(v[..8].try_into().expect("8 bytes"));
    let root = Hash::from_slice(&v[8..40]).expect("32 bytes");
    Ok(Cosigned {
        size,
        root,
        note: v[40..].to_vec(),
    })
}

impl State {
    /// Opens (or creates) the state in `path`.
    pub fn open(path: &Path) -> Result<State, String> {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.set_paranoid_checks(true);
        let db = DB::open(&opts, path).map_err(|e| format!("state {}: {e}", path.display()))?;
        Ok(State {
            db,
            lock: Mutex::new(()),
        })
    }

    /// The latest cosigned checkpoint of `origin`.
    pub fn latest(&self, origin: &str) -> Result<Option<Cosigned>, String> {
        match self
            .db
            .get(key(origin))
            .map_err(|e| format!("state: {e}"))?
        {
            Some(v) => decode(origin, &v).map(Some),
            None => Ok(None),
        }
    }

    /// Reads the record of `origin`, lets `decide` judge it, and stores what
    /// `decide` returns, durably, all under one lock. The outer error is a
    /// storage failure; the inner one is `decide`'s refusal (nothing stored).
    pub fn update<E>(
        &self,
        origin: &str,
        decide: impl FnOnce(Option<&Cosigned>) -> Result<Cosigned, E>,
    ) -> Result<Result<Cosigned, E>, String> {
        let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.latest(origin)?;
        let next = match decide(current.as_ref()) {
            Ok(next) => next,
            Err(refused) => return Ok(Err(refused)),
        };
        let mut value = next.size.to_be_bytes().to_vec();
        value.extend_from_slice(next.root.as_bytes());
        value.extend_from_slice(&next.note);
        let mut batch = WriteBatch::default();
        batch.put(key(origin), value);
        let mut sync = WriteOptions::default();
        sync.set_sync(true);
        self.db
            .write_opt(batch, &sync)
            .map_err(|e| format!("state: {e}"))?;
        Ok(Ok(next))
    }
}
