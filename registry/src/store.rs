//! The registry's storage: one RocksDB database under `--data/db` holding
//! JSON records under prefixed keys, and tarballs on disk named by their
//! SHA-512 (`--data/tarballs/<hex>`).
//!
//! | key | record |
//! | --- | --- |
//! | `user/<name>` | [`User`]: TOTP secret, last used TOTP step, recent OTP failures |
//! | `token/<sha256 hex of the token>` | [`TokenRecord`]: owner and kind, and for trusted publishing the package, expiry and CI identity (the token itself is never stored) |
//! | `pkg/<name>` | [`Package`]: published versions, dist-tags, maintainers, policy, trusted publishers |
//! | `stage/<id>` | [`StageItem`]: one staged version and every log acknowledgement |
//! | `outbox/<step>` | a signed envelope not yet acknowledged by the log ([`Outbox`]) |
//! | `uplink/<name>` | what `--uplink` served of a package not owned here: each version's integrity as first served, tarball URLs, the last packument |
//!
//! Every write is one synced `WriteBatch`, so a record and the removal of
//! its outbox entry land together or not at all.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha512};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// RocksDB failed.
    #[error("database: {0}")]
    Db(#[from] rocksdb::Error),
    /// A file operation failed.
    #[error("{what}: {err}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        err: std::io::Error,
    },
    /// A stored record does not parse.
    #[error("corrupt record {key}: {err}")]
    Corrupt {
        /// Its key.
        key: String,
        /// The parse error.
        err: serde_json::Error,
    },
}

/// What a token may do.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TokenKind {
    /// Read, stage, approve and reject (with OTP), and publish directly where
    /// the package's policy allows.
    Publish,
    /// Stage only (a CI token): no direct publish, no approvals.
    StageOnly,
    /// Read only.
    Read,
}

impl TokenKind {
    /// The spelling used on the command line and in records.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Publish => "publish",
            TokenKind::StageOnly => "stage-only",
            TokenKind::Read => "read",
        }
    }
}

/// A stored token: only its hash is the key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The owner.
    pub user: String,
    /// What it may do.
    pub kind: TokenKind,
    /// Its short public id (first hex digits of its hash), for logs.
    pub id: String,
    /// When it was created (RFC 3339).
    pub created: String,
    /// The only package it may write (tokens from a trusted publisher's
    /// ID token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    /// Unix time after which it is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<u64>,
    /// The CI identity it was issued to (trusted publishing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc: Option<crate::trust::OidcIdentity>,
}

/// A registry user.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct User {
    /// The npm user name.
    pub name: String,
    /// The base32 TOTP secret, once enrolled.
    pub totp_secret: Option<String>,
    /// The last TOTP time step accepted; a code of this step or an earlier
    /// one is refused as replayed.
    pub last_otp_step: u64,
    /// Unix times of recent wrong OTPs (for the lockout).
    pub otp_failures: Vec<i64>,
    /// Ed25519 signing devices for device-bound approvals.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signing_devices: Vec<crate::device::SigningDevice>,
}

/// The log's acknowledgement of one event, as the log answered it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    /// Leaf index.
    pub index: u64,
    /// Leaf hash, hex.
    pub leaf_hash: String,
    /// Whether the log already held the event.
    pub duplicate: bool,
    /// The inclusion proof (`{index, path, tree_size}`).
    pub inclusion_proof: Value,
    /// The checkpoint the proof is against (`{note, root_hash, tree_size}`).
    pub checkpoint: Value,
}

/// A logged event: the signed envelope and its acknowledgement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Logged {
    /// The DSSE envelope as sent (canonical JSON).
    pub envelope: String,
    /// The log's answer.
    pub ack: Ack,
}

/// A signed envelope waiting for the log's acknowledgement. A retry sends
/// exactly these bytes, so the log records the event once.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Outbox {
    /// The DSSE envelope (canonical JSON).
    pub envelope: String,
}

/// A published (installable) version.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PublishedVersion {
    /// The version manifest served in the packument (with our `dist`).
    pub manifest: Value,
    /// SRI sha512 of the tarball.
    pub integrity: String,
    /// When it was published (RFC 3339).
    pub time: String,
    /// `staged` or `direct`.
    pub via: String,
    /// The stage item it came from, if staged.
    pub stage_id: Option<String>,
    /// The `publish` event.
    pub publish: Logged,
}

/// A package: what is installable, and who may change it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Package {
    /// The package name.
    pub name: String,
    /// Published versions by version string.
    pub versions: BTreeMap<String, PublishedVersion>,
    /// dist-tag → version.
    pub dist_tags: BTreeMap<String, String>,
    /// Maintainers, each logged by a `maintainer-add` before being added.
    pub maintainers: Vec<String>,
    /// `<user>/<device id>` of devices whose `device-register` is logged
    /// for this package.
    pub devices: Vec<String>,
    /// Whether every version must be staged and approved.
    pub staging_required: bool,
    /// CI identities that may stage (or publish), each change logged as a
    /// `policy-change` before it takes effect.
    #[serde(default)]
    pub trusted_publishers: Vec<crate::trust::TrustConfig>,
    /// First write (RFC 3339).
    pub created: String,
    /// Last write (RFC 3339).
    pub modified: String,
}

/// Where a staged version stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StageStatus {
    /// Waiting for approval.
    Staged,
    /// Approved and published.
    Published,
    /// Rejected.
    Rejected,
}

impl StageStatus {
    /// The spelling in answers.
    pub fn as_str(self) -> &'static str {
        match self {
            StageStatus::Staged => "staged",
            StageStatus::Published => "published",
            StageStatus::Rejected => "rejected",
        }
    }
}

/// A staged version and every log acknowledgement that concerns it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StageItem {
    /// UUID.
    pub id: String,
    /// Package name.
    pub package: String,
    /// Version.
    pub version: String,
    /// Requested dist-tag.
    pub tag: String,
    /// The version manifest (with our `dist`).
    pub manifest: Value,
    /// SRI sha512 of the tarball.
    pub integrity: String,
    /// sha1 hex of the tarball.
    pub shasum: String,
    /// Who staged it (user name).
    pub actor: String,
    /// `token` (the kind of credential used).
    pub actor_type: String,
    /// When it was staged (RFC 3339).
    pub created_at: String,
    /// Current status.
    pub status: StageStatus,
    /// The `stage` event.
    pub stage: Logged,
    /// The `approve` event, once logged.
    pub approve: Option<Logged>,
    /// The `publish` event, once logged.
    pub publish: Option<Logged>,
    /// The `reject` event, once logged.
    pub reject: Option<Logged>,
}

/// Pending writes, applied atomically by [`Store::write`].
#[derive(Default)]
pub struct Batch {
    batch: rocksdb::WriteBatch,
}

impl Batch {
    /// Stores `value` as JSON under `key`.
    pub fn put<T: Serialize>(&mut self, key: &str, value: &T) {
        let bytes = serde_json::to_vec(value).expect("records serialize");
        self.batch.put(key.as_bytes(), bytes);
    }

    /// Removes `key`.
    pub fn delete(&mut self, key: &str) {
        self.batch.delete(key.as_bytes());
    }
}

/// The open store.
pub struct Store {
    db: rocksdb::DB,
    tarballs: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store in `data`.
    pub fn open(data: &Path) -> Result<Store, StoreError> {
        let io = |what: String| move |err| StoreError::Io { what, err };
        let tarballs = data.join("tarballs");
        std::fs::create_dir_all(&tarballs)
            .map_err(io(format!("creating {}", tarballs.display())))?;
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        let db = rocksdb::DB::open(&opts, data.join("db"))?;
        Ok(Store { db, tarballs })
    }

    /// The record under `key`, if any.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, StoreError> {
        match self.db.get(key.as_bytes())? {
            None => Ok(None),
            Some(bytes) => {
                serde_json::from_slice(&bytes)
                    .map(Some)
                    .map_err(|err| StoreError::Corrupt {
                        key: key.to_owned(),
                        err,
                    })
            }
        }
    }

    /// Every record whose key starts with `prefix`, in key order.
    pub fn scan<T: DeserializeOwned>(&self, prefix: &str) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        for item in self.db.prefix_iterator(prefix.as_bytes()) {
            let (key, bytes) = item?;
            if !key.starts_with(prefix.as_bytes()) {
                break;
            }
            out.push(
                serde_json::from_slice(&bytes).map_err(|err| StoreError::Corrupt {
                    key: String::from_utf8_lossy(&key).into_owned(),
                    err,
                })?,
            );
        }
        Ok(out)
    }

    /// Applies `batch` atomically and durably (synced write-ahead log).
    pub fn write(&self, batch: Batch) -> Result<(), StoreError> {
        let mut opts = rocksdb::WriteOptions::default();
        opts.set_sync(true);
        self.db.write_opt(batch.batch, &opts)?;
        Ok(())
    }

    /// Stores one record durably.
    pub fn put<T: Serialize>(&self, key: &str, value: &T) -> Result<(), StoreError> {
        let mut batch = Batch::default();
        batch.put(key, value);
        self.write(batch)
    }

    fn tarball_path(&self, digest: &[u8]) -> PathBuf {
        self.tarballs.join(hex::encode(digest))
    }

    /// Stores a tarball under its SHA-512 (written to a temporary file,
    /// synced, then renamed), and returns that digest.
    pub fn put_tarball(&self, bytes: &[u8]) -> Result<[u8; 64], StoreError> {
        let digest: [u8; 64] = Sha512::digest(bytes).into();
        let path = self.tarball_path(&digest);
        if path.exists() {
            return Ok(digest);
        }
        let io = |what: &str| {
            let what = format!("{what} {}", path.display());
            move |err| StoreError::Io { what, err }
        };
        let mut nonce = [0u8; 8];
        getrandom::getrandom(&mut nonce).map_err(|e| StoreError::Io {
            what: "random temporary name".into(),
            err: std::io::Error::other(e.to_string()),
        })?;
        let tmp = self.tarballs.join(format!(".tmp-{}", hex::encode(nonce)));
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io("creating a temporary file for"))?;
        file.write_all(bytes).map_err(io("writing"))?;
        file.sync_all().map_err(io("syncing"))?;
        std::fs::rename(&tmp, &path).map_err(io("renaming into"))?;
        Ok(digest)
    }

    /// The tarball with this SHA-512 digest, if stored.
    pub fn get_tarball(&self, digest: &[u8; 64]) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.tarball_path(digest);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(err) => Err(StoreError::Io {
                what: format!("reading {}", path.display()),
                err,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_and_tarballs_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let user = User {
            name: "alice".into(),
            ..User::default()
        };
        store.put("user/alice", &user).unwrap();
        store.put("user/bob", &User::default()).unwrap();
        store.put("users", &User::default()).unwrap();
        let got: User = store.get("user/alice").unwrap().unwrap();
        assert_eq!(got.name, "alice");
        assert!(store.get::<User>("user/carol").unwrap().is_none());
        assert_eq!(store.scan::<User>("user/").unwrap().len(), 2);

        let digest = store.put_tarball(b"tarball").unwrap();
        assert_eq!(store.put_tarball(b"tarball").unwrap(), digest);
        assert_eq!(store.get_tarball(&digest).unwrap().unwrap(), b"tarball");
        assert!(store.get_tarball(&[0; 64]).unwrap().is_none());
    }
}
