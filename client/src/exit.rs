//! The exit codes every `gatelog` command ends with (docs/client.md), and
//! the failure a command returns: one code per kind of outcome, so a CI
//! job reads them the same way whatever the command.

use crate::logclient::ClientError;

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Everything checked passed.
    Ok = 0,
    /// A check failed: a verification or policy failure, log misbehaviour,
    /// a flagged or refused release.
    Failed = 1,
    /// Usage or configuration error: bad flags, unreadable or malformed input.
    Usage = 2,
    /// Nothing was decided: the log or the registry could not be reached or
    /// could not answer (or its evidence was stale).
    Undecided = 3,
}

impl Exit {
    /// The process exit code.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// The exit of a failed request to a log: what it answered is a failed
    /// check (it refused or lied), not reaching it decides nothing.
    pub fn of_client_error(e: &ClientError) -> Exit {
        match e {
            ClientError::Verification(_) => Exit::Failed,
            ClientError::Status { status, .. } if (400..500).contains(status) => Exit::Failed,
            _ => Exit::Undecided,
        }
    }
}

impl From<Exit> for std::process::ExitCode {
    fn from(e: Exit) -> std::process::ExitCode {
        std::process::ExitCode::from(e.code())
    }
}

/// A command that did not end well: how, and the message for stderr.
#[derive(Debug)]
pub struct Failure(pub Exit, pub String);

impl Failure {
    /// A usage or configuration error.
    pub fn usage(msg: impl std::fmt::Display) -> Failure {
        Failure(Exit::Usage, msg.to_string())
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Failure {
        Failure(Exit::of_client_error(&e), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_are_the_documented_ones() {
        let codes: Vec<u8> = [Exit::Ok, Exit::Failed, Exit::Usage, Exit::Undecided]
            .iter()
            .map(|e| e.code())
            .collect();
        assert_eq!(codes, [0, 1, 2, 3]);
        let refused = ClientError::Status {
            status: 404,
            message: "no such entry".into(),
        };
        assert_eq!(Exit::of_client_error(&refused), Exit::Failed);
        let busy = ClientError::Status {
            status: 503,
            message: "busy".into(),
        };
        assert_eq!(Exit::of_client_error(&busy), Exit::Undecided);
    }
}
