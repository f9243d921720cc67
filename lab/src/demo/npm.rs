//! The real npm CLI as the registry chapter runs it: found in `tools/`
//! (installed by `make tools`, scripts/tools.sh) or named with `--npm`,
//! run with a clean environment of its own (a home, a cache and one
//! `.npmrc` per person in the demo's data folder), each command shown as a
//! person would type it.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use super::DemoError;

/// Where `make tools` installs the pinned npm, from the repository root.
pub const TOOLS_NPM: &str = "tools/node_modules/.bin/npm";

/// The npm CLI the demo found.
#[derive(Clone, Debug)]
pub struct Found {
    /// Its executable.
    pub bin: PathBuf,
    /// What `npm --version` printed.
    pub version: String,
}

/// Finds npm: `explicit` (which must work), else [`TOOLS_NPM`] in the
/// working folder or the nearest folder above it. `Ok(Err(why))` when
/// there is none or it does not run (e.g. no Node.js): the chapter is
/// skipped, and `why` says what to do.
pub async fn find(explicit: Option<&Path>) -> Result<Result<Found, String>, DemoError> {
    if let Some(bin) = explicit {
        return match version(bin).await {
            Ok(version) => Ok(Ok(Found {
                bin: bin.to_owned(),
                version,
            })),
            Err(e) => Err(DemoError::Setup(format!("--npm {}: {e}", bin.display()))),
        };
    }
    let cwd = std::env::current_dir()
        .map_err(|e| DemoError::Setup(format!("cannot read the working folder: {e}")))?;
    let Some(bin) = cwd
        .ancestors()
        .map(|d| d.join(TOOLS_NPM))
        .find(|p| p.is_file())
    else {
        return Ok(Err(
            "npm not found in tools/: run `make tools` to play the registry chapter with the \
             real npm CLI (or pass --npm PATH)"
                .to_owned(),
        ));
    };
    Ok(match version(&bin).await {
        Ok(version) => Ok(Found { bin, version }),
        Err(e) => Err(format!(
            "{} does not run ({e}): the registry chapter needs Node.js >= 20.17 \
             (`make tools` installs it)",
            bin.display()
        )),
    })
}

/// `npm --version`.
async fn version(bin: &Path) -> Result<String, String> {
    let out = tokio::process::Command::new(bin)
        .arg("--version")
        .env("npm_config_update_notifier", "false")
        .stdin(Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if out.status.success() && !text.is_empty() {
        Ok(text)
    } else {
        Err(first_error(&String::from_utf8_lossy(&out.stderr))
            .unwrap_or_else(|| format!("exit {}", out.status)))
    }
}

/// One person's npm settings: the registry and, if any, their token.
#[derive(Clone, Debug)]
pub struct Person {
    /// Who it is, as the demo says it (`CI`, `alice`, `the attacker`).
    pub who: String,
    /// Their `.npmrc`.
    pub npmrc: PathBuf,
}

/// What an npm command did.
#[derive(Clone, Debug)]
pub struct Ran {
    /// Its exit code (-1 when killed by a signal).
    pub code: i32,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Ran {
    /// Whether it exited 0.
    pub fn ok(&self) -> bool {
        self.code == 0
    }

    /// npm's first `npm error` line, or the first line of standard error.
    pub fn error(&self) -> String {
        first_error(&self.stderr).unwrap_or_else(|| format!("exit {}", self.code))
    }
}

/// The first line npm prints for an error (`npm error code E403` is
/// skipped for the line that says what happened).
fn first_error(stderr: &str) -> Option<String> {
    let lines: Vec<&str> = stderr.lines().map(str::trim).collect();
    let said = lines
        .iter()
        .filter_map(|l| l.strip_prefix("npm error "))
        .find(|l| !l.starts_with("code ") && !l.starts_with("A complete log"));
    said.map(str::to_owned).or_else(|| {
        lines
            .iter()
            .find(|l| !l.is_empty())
            .map(|l| (*l).to_owned())
    })
}

/// Runs npm for the demo's people.
#[derive(Clone, Debug)]
pub struct Npm {
    /// The CLI.
    pub found: Found,
    /// npm's home and cache live here.
    home: PathBuf,
    /// The registry's base URL, `http://127.0.0.1:<port>`.
    registry: String,
}

impl Npm {
    /// npm with its home under `dir`, speaking to `registry`.
    pub fn new(found: Found, dir: &Path, registry: &str) -> Result<Npm, DemoError> {
        let home = dir.join("home");
        std::fs::create_dir_all(&home)
            .map_err(|e| DemoError::Setup(format!("{}: {e}", home.display())))?;
        Ok(Npm {
            found,
            home,
            registry: registry.trim_end_matches('/').to_owned(),
        })
    }

    /// npm's cache folder.
    pub fn cache(&self) -> PathBuf {
        self.home.join("cache")
    }

    /// Writes the `.npmrc` of `who`, with `token` when given.
    pub fn person(&self, who: &str, token: Option<&str>) -> Result<Person, DemoError> {
        let host = self
            .registry
            .strip_prefix("http://")
            .unwrap_or(&self.registry);
        let mut text = format!("registry={}/\n", self.registry);
        if let Some(token) = token {
            text.push_str(&format!("//{host}/:_authToken={token}\n"));
        }
        let file: String = who
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let npmrc = self.home.join(format!("{file}.npmrc"));
        super::processes::write_private(&npmrc, &text)?;
        Ok(Person {
            who: who.to_owned(),
            npmrc,
        })
    }

    /// Runs `npm <args>` in `cwd` as `person`, with `env` added.
    pub async fn run(
        &self,
        person: &Person,
        cwd: &Path,
        args: &[&str],
        env: &[(&'static str, String)],
    ) -> Result<Ran, DemoError> {
        let mut command = tokio::process::Command::new(&self.found.bin);
        command
            .args(args)
            .current_dir(cwd)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", &self.home)
            .env("npm_config_userconfig", &person.npmrc)
            .env("npm_config_cache", self.cache())
            .env("npm_config_update_notifier", "false")
            .env("npm_config_audit", "false")
            .env("npm_config_fund", "false")
            .env("npm_config_loglevel", "warn")
            .env("no_proxy", "127.0.0.1,localhost")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .envs(env.iter().map(|(k, v)| (*k, v)))
            .stdin(Stdio::null())
            .kill_on_drop(true);
        let out = command
            .output()
            .await
            .map_err(|e| DemoError::Failed(format!("cannot run npm {}: {e}", args.join(" "))))?;
        Ok(Ran {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        })
    }
}

/// Writes a package `name@version` (package.json and index.js) into a new
/// folder under `dir`; returns the folder.
pub fn package(dir: &Path, name: &str, version: &str) -> Result<PathBuf, DemoError> {
    let folder = dir.join(format!("{}-{version}", name.replace(['@', '/'], "_")));
    let manifest = serde_json::json!({
        "name": name,
        "version": version,
        "description": "a package of the gatelog demo",
        "main": "index.js",
        "license": "MIT",
    });
    write_files(
        &folder,
        &[
            ("package.json", format!("{manifest:#}\n")),
            (
                "index.js",
                format!("module.exports = () => \"{name} {version}\";\n"),
            ),
        ],
    )?;
    Ok(folder)
}

/// Writes an empty consumer project into `folder`.
pub fn project(folder: &Path) -> Result<(), DemoError> {
    write_files(
        folder,
        &[(
            "package.json",
            "{\n  \"name\": \"consumer-app\",\n  \"version\": \"1.0.0\",\n  \"private\": true\n}\n"
                .to_owned(),
        )],
    )
}

fn write_files(folder: &Path, files: &[(&str, String)]) -> Result<(), DemoError> {
    let setup = |e: std::io::Error| DemoError::Setup(format!("{}: {e}", folder.display()));
    std::fs::create_dir_all(folder).map_err(setup)?;
    for (name, text) in files {
        std::fs::write(folder.join(name), text).map_err(setup)?;
    }
    Ok(())
}

/// TOTP codes (RFC 6238: SHA-1, 6 digits, 30 s) of one secret, as an
/// authenticator app shows them; never the same time step twice, since
/// the registry accepts each step once.
pub struct Authenticator {
    totp: totp_rs::TOTP,
    last_step: u64,
}

impl Authenticator {
    /// The authenticator of a base32 `secret` (as `admin totp-enrol` prints it).
    pub fn new(secret: &str) -> Result<Authenticator, DemoError> {
        let bytes = totp_rs::Secret::Encoded(secret.to_owned())
            .to_bytes()
            .map_err(|e| DemoError::Failed(format!("the TOTP secret is not base32: {e:?}")))?;
        let totp = totp_rs::TOTP::new_unchecked(
            totp_rs::Algorithm::SHA1,
            6,
            1,
            30,
            bytes,
            Some("gatelog-registry".into()),
            "demo".into(),
        );
        Ok(Authenticator { totp, last_step: 0 })
    }

    /// A code for a time step after the last one used: the current step,
    /// or the next (the registry accepts one step of drift either way);
    /// waits for the clock when both were used.
    pub async fn code(&mut self) -> String {
        loop {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let step = (now / 30).max(self.last_step + 1);
            if step <= now / 30 + 1 {
                self.last_step = step;
                return self.totp.generate(step * 30);
            }
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npm_errors_read_from_their_first_line() {
        let stderr = "npm error code E403\nnpm error 403 403 Forbidden - PUT http://x/w - \
                      w requires staged publishing\nnpm error A complete log of this run …\n";
        assert_eq!(
            first_error(stderr).unwrap(),
            "403 403 Forbidden - PUT http://x/w - w requires staged publishing"
        );
        assert_eq!(first_error("\nboom\n").unwrap(), "boom");
        assert_eq!(first_error(""), None);
    }

    #[tokio::test]
    async fn codes_never_repeat_a_time_step() {
        let mut a = Authenticator::new("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap();
        let first = a.code().await;
        let step = a.last_step;
        let second = a.code().await;
        assert_eq!(first.len(), 6);
        assert_eq!(a.last_step, step + 1);
        assert_eq!(second, a.totp.generate(a.last_step * 30));
        assert!(Authenticator::new("not base32 !").is_err());
    }
}
