//! Feeding the sequencer: one batch commits while the next gets ready.
//!
//! Committing a batch is serial (the sequencer is the only writer). Getting
//! a batch ready is not: signing the follow-ups of earlier answers
//! (approvals with the device's and the registry's signature, publishes),
//! signing new stages, and decoding every event as the server's submit
//! handler would. So batch k + 1 is made ready on another core while batch
//! k commits, and follows up the answers to batch k - 1: a release chain
//! moves one step every other batch.

use std::mem;

use gatelog_client::logclient::Ack;
use gatelog_core::{Envelope, Event};
use gatelog_lab::hammer::workload::{self, Step, Workload};
use gatelog_server::sequencer::{Accepted, Sequencer, Submission, SubmitError};
use gatelog_server::store::LogStore;
use rayon::prelude::*;
use tokio::sync::oneshot;

use crate::BulkLoadError;

type Reply = oneshot::Receiver<Result<Accepted, SubmitError>>;
type Ready = Vec<(Step, Submission, Reply)>;

/// Logs every chain of `work`; `progress` hears the entries of each batch.
pub fn run<S: LogStore>(
    sequencer: &mut Sequencer<S>,
    work: &Workload,
    batch: usize,
    progress: &mut impl FnMut(u64),
) -> Result<(), BulkLoadError> {
    let mut answered: Vec<(Step, Ack)> = Vec::new();
    let mut ready = prepare(work, Vec::new(), batch)?;
    loop {
        if ready.is_empty() {
            if answered.is_empty() {
                return Ok(()); // every chain is complete
            }
            ready = prepare(work, mem::take(&mut answered), batch)?;
            continue;
        }
        let n = ready.len() as u64;
        let earlier = mem::take(&mut answered);
        let (committed, next) = rayon::join(
            || commit(sequencer, ready),
            || prepare(work, earlier, batch),
        );
        answered = committed?;
        ready = next?;
        progress(n);
    }
}

/// Follows up `answered`, then takes the next batch and checks it, on all
/// cores. Empty when every chain is done or waits for an answer.
fn prepare(
    work: &Workload,
    answered: Vec<(Step, Ack)>,
    batch: usize,
) -> Result<Ready, BulkLoadError> {
    answered
        .par_iter()
        .for_each(|(step, ack)| work.acknowledged(step, ack));
    work.take(batch)
        .into_par_iter()
        .map(|(step, envelope)| check(step, envelope))
        .collect()
}

/// Commits one batch through the sequencer; every answer must be a new
/// entry.
fn commit<S: LogStore>(
    sequencer: &mut Sequencer<S>,
    ready: Ready,
) -> Result<Vec<(Step, Ack)>, BulkLoadError> {
    let mut steps = Vec::with_capacity(ready.len());
    let mut submissions = Vec::with_capacity(ready.len());
    let mut replies = Vec::with_capacity(ready.len());
    for (step, submission, reply) in ready {
        steps.push(step);
        submissions.push(submission);
        replies.push(reply);
    }
    sequencer.commit(submissions)?;
    steps
        .into_iter()
        .zip(replies)
        .map(|(step, reply)| Ok((step, acknowledgement(reply)?)))
        .collect()
}

/// What the server's submit handler does before the sequencer sees an
/// envelope, but the registry signature check: the loader made that
/// signature itself a moment ago (`gatelog-monitor --registry-key` checks
/// every one of them on the loaded log). The event is decoded and
/// validated, and must come from the workload's registry.
fn check(step: Step, envelope: Envelope) -> Result<(Step, Submission, Reply), BulkLoadError> {
    let event =
        Event::from_envelope(&envelope).map_err(|e| BulkLoadError::Refused(e.to_string()))?;
    if event.registry.host() != workload::REGISTRY_HOST {
        return Err(BulkLoadError::Refused(format!(
            "an event of {} in the workload of {}",
            event.registry.as_str(),
            workload::REGISTRY_HOST
        )));
    }
    let (reply, rx) = oneshot::channel();
    Ok((step, Submission::new(envelope, event, reply), rx))
}

/// The sequencer has answered by the time `commit` returns.
fn acknowledgement(mut reply: Reply) -> Result<Ack, BulkLoadError> {
    match reply.try_recv() {
        Ok(Ok(accepted)) if !accepted.duplicate => Ok(Ack {
            index: accepted.index,
            leaf_hash: accepted.leaf_hash,
            head: accepted.checkpoint.head(),
        }),
        Ok(Ok(accepted)) => Err(BulkLoadError::Refused(format!(
            "an event was already logged at {}",
            accepted.index
        ))),
        Ok(Err(e)) => Err(BulkLoadError::Refused(e.to_string())),
        Err(_) => Err(BulkLoadError::Refused(
            "the sequencer did not answer".into(),
        )),
    }
}
