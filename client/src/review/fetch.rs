//! What `gatelog review` asks of the registry: the staged item, its
//! tarball, the packument and a published tarball. Nothing here is
//! trusted; the caller checks every digest against the log.

use std::time::Duration;

use serde_json::Value;

use super::tarball::MAX_TARBALL;

/// Largest JSON answer read (a packument of many versions).
const MAX_JSON: usize = 64 << 20;

/// Why a registry request failed.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// No connection, a timeout, or a server error.
    #[error("registry unreachable: {0}")]
    Unreachable(String),
    /// The registry refused the request (unknown id, token refused…).
    #[error("registry answered {status} for {what}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// What was asked.
        what: String,
        /// The registry's message.
        message: String,
    },
    /// The answer is not what the API promises.
    #[error("registry answer for {0}: {1}")]
    Malformed(String, String),
}

/// A staged item as `GET /-/stage/<id>` describes it.
#[derive(Clone, Debug)]
pub struct StageItem {
    /// Its id.
    pub id: String,
    /// Package name.
    pub package: String,
    /// Version staged.
    pub version: String,
    /// Requested dist-tag.
    pub tag: Option<String>,
    /// The SRI sha512 the registry claims.
    pub integrity: String,
    /// `staged`, `approved`, `rejected`…
    pub status: String,
    /// The registry's account name of who staged it.
    pub actor: Option<String>,
    /// Leaf index of its `stage` event.
    pub stage_log_index: u64,
}

/// A registry client with a token.
pub struct Registry {
    base: String,
    token: String,
    http: reqwest::Client,
}

/// `name` for a URL path: `@scope/name` as `@scope%2fname`.
fn escape_name(name: &str) -> String {
    name.replace('/', "%2f")
}

impl Registry {
    /// A client of the registry at `base` (an http(s) origin).
    pub fn new(base: &str, token: &str) -> Result<Registry, FetchError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| FetchError::Unreachable(e.to_string()))?;
        Ok(Registry {
            base: base.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            http,
        })
    }

    /// `GET url` read up to `cap` bytes; the token is sent only to the
    /// registry itself, never to a tarball host a packument names.
    async fn get(&self, url: &str, what: &str, cap: usize) -> Result<Vec<u8>, FetchError> {
        let mut req = self.http.get(url);
        if url == self.base || url.starts_with(&format!("{}/", self.base)) {
            req = req.bearer_auth(&self.token);
        }
        let mut resp = req
            .send()
            .await
            .map_err(|e| FetchError::Unreachable(format!("{what}: {e}")))?;
        let status = resp.status();
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| FetchError::Unreachable(format!("{what}: {e}")))?
        {
            if body.len() + chunk.len() > cap {
                return Err(FetchError::Malformed(
                    what.to_owned(),
                    format!("larger than {cap} bytes"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        if status.is_success() {
            return Ok(body);
        }
        let message = serde_json::from_slice::<Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(300).collect());
        if status.is_server_error() {
            return Err(FetchError::Unreachable(format!(
                "{what}: {status}: {message}"
            )));
        }
        Err(FetchError::Refused {
            status: status.as_u16(),
            what: what.to_owned(),
            message,
        })
    }

    async fn get_json(&self, path: &str, what: &str) -> Result<Value, FetchError> {
        let body = self
            .get(&format!("{}{path}", self.base), what, MAX_JSON)
            .await?;
        serde_json::from_slice(&body).map_err(|e| FetchError::Malformed(what.into(), e.to_string()))
    }

    /// `GET /-/stage/<id>`.
    pub async fn stage_item(&self, id: &str) -> Result<StageItem, FetchError> {
        let what = format!("stage item {id}");
        let v = self.get_json(&format!("/-/stage/{id}"), &what).await?;
        let text = |field: &str| {
            v[field]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| FetchError::Malformed(what.clone(), format!("no {field}")))
        };
        Ok(StageItem {
            id: text("id")?,
            package: text("packageName")?,
            version: text("version")?,
            tag: v["tag"].as_str().map(str::to_owned),
            integrity: text("integrity")?,
            status: text("status")?,
            actor: v["actor"].as_str().map(str::to_owned),
            stage_log_index: v["stageLogIndex"]
                .as_u64()
                .ok_or_else(|| FetchError::Malformed(what.clone(), "no stageLogIndex".into()))?,
        })
    }

    /// `POST /-/stage/<id>/approve` with the OTP and a device signature;
    /// returns the item as the registry answers it (with
    /// `approveLogIndex` and `publishLogIndex`).
    pub async fn approve(
        &self,
        id: &str,
        otp: &str,
        device_id: &str,
        signature_b64: &str,
    ) -> Result<Value, FetchError> {
        let what = format!("the approval of stage item {id}");
        let resp = self
            .http
            .post(format!("{}/-/stage/{id}/approve", self.base))
            .bearer_auth(&self.token)
            .header("npm-otp", otp)
            .header("gatelog-device-id", device_id)
            .header("gatelog-device-signature", signature_b64)
            .send()
            .await
            .map_err(|e| FetchError::Unreachable(format!("{what}: {e}")))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| FetchError::Unreachable(format!("{what}: {e}")))?;
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status.is_success() {
            return Ok(v);
        }
        let message = v["error"].as_str().map_or_else(
            || String::from_utf8_lossy(&body).chars().take(300).collect(),
            str::to_owned,
        );
        if status.is_server_error() {
            return Err(FetchError::Unreachable(format!(
                "{what}: {status}: {message}"
            )));
        }
        Err(FetchError::Refused {
            status: status.as_u16(),
            what,
            message,
        })
    }

    /// `GET /-/stage/<id>/tarball`.
    pub async fn stage_tarball(&self, id: &str) -> Result<Vec<u8>, FetchError> {
        let url = format!("{}/-/stage/{id}/tarball", self.base);
        self.get(
            &url,
            &format!("the tarball of stage item {id}"),
            MAX_TARBALL,
        )
        .await
    }

    /// `GET /<name>`: the full packument.
    pub async fn packument(&self, name: &str) -> Result<Value, FetchError> {
        self.get_json(
            &format!("/{}", escape_name(name)),
            &format!("the packument of {name}"),
        )
        .await
    }

    /// A published tarball at the URL its packument names.
    pub async fn tarball(&self, url: &str, what: &str) -> Result<Vec<u8>, FetchError> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(FetchError::Malformed(
                what.into(),
                format!("tarball URL {url:?} is not http(s)"),
            ));
        }
        self.get(url, what, MAX_TARBALL).await
    }
}

/// Whether `id` can be put in a URL path as it is.
pub fn valid_stage_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
        && id != "."
        && id != ".."
}
