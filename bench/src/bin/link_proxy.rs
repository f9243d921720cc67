//! `gatelog-link-proxy`: a TCP proxy that adds a one-way delay to every
//! chunk in each direction, for measuring gatelog's clients over a slow
//! link where the kernel has no `netem` (scripts/bench-link.sh).
//!
//! Each accepted connection gets its own upstream connection. Per
//! direction, a reader timestamps every chunk it reads and hands it to a
//! writer, which sleeps until `read time + delay` and forwards it, in
//! order; nothing busy-waits. A new connection's first client bytes go
//! upstream no sooner than three one-way delays after the accept: the
//! client's connect to the proxy is instant, but on the real link the TCP
//! handshake costs one round trip before the request leaves (SYN at 0,
//! request sent at 2 d, received at 3 d). `--rate-mbit` paces each
//! direction with a token bucket, for a machine where no `tbf` shapes the
//! path (the bench shapes a veth pair instead and leaves it off).
//!
//! Every connection prints a line when it opens (`open N`) and one JSON
//! object when both directions are done, with the bytes forwarded each
//! way (TCP payload: `up` from the client, `down` to it).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::Parser;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

#[derive(Parser, Debug)]
#[command(about = "A TCP proxy adding a fixed one-way delay (and optional pacing) each way")]
struct Args {
    /// Address to listen on, e.g. 127.0.0.1:9000.
    #[arg(long)]
    listen: String,
    /// Address to forward to.
    #[arg(long)]
    upstream: String,
    /// One-way delay added to every chunk, each direction, in ms.
    #[arg(long, default_value_t = 25)]
    delay_ms: u64,
    /// Pace each direction of each connection at this rate (Mbit/s); 0
    /// leaves the rate to the path.
    #[arg(long, default_value_t = 0.0)]
    rate_mbit: f64,
    /// Forward a new connection's first bytes at once, without the
    /// handshake's round trip.
    #[arg(long)]
    no_handshake: bool,
}

/// What a reader hands its writer: bytes due at an instant, or the end.
enum Chunk {
    Data(Instant, Vec<u8>),
    End(Instant),
}

#[derive(Clone, Copy)]
struct Link {
    delay: Duration,
    /// Seconds per byte, 0 when not paced.
    byte_time: f64,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    if !(args.rate_mbit >= 0.0 && args.rate_mbit.is_finite()) {
        eprintln!("--rate-mbit must be a non-negative number");
        std::process::exit(2);
    }
    let link = Link {
        delay: Duration::from_millis(args.delay_ms),
        byte_time: if args.rate_mbit > 0.0 {
            8.0 / (args.rate_mbit * 1e6)
        } else {
            0.0
        },
    };
    let listener = TcpListener::bind(&args.listen).await?;
    println!("listening on {}", listener.local_addr()?);
    let mut n = 0u64;
    loop {
        let (client, _) = listener.accept().await?;
        let accepted = Instant::now();
        n += 1;
        println!("open {n}");
        let upstream = args.upstream.clone();
        let first_at = if args.no_handshake {
            accepted
        } else {
            accepted + 3 * link.delay
        };
        tokio::spawn(async move {
            match TcpStream::connect(&upstream).await {
                Ok(server) => {
                    let (up, down) = relay(client, server, link, first_at).await;
                    println!("{{\"conn\": {n}, \"up\": {up}, \"down\": {down}}}");
                }
                Err(e) => {
                    eprintln!("connection {n}: upstream {upstream}: {e}");
                    println!("{{\"conn\": {n}, \"up\": 0, \"down\": 0, \"error\": true}}");
                }
            }
        });
    }
}

/// Relays both directions until both end; returns the bytes forwarded
/// (client to server, server to client).
async fn relay(client: TcpStream, server: TcpStream, link: Link, first_at: Instant) -> (u64, u64) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up = Arc::new(AtomicU64::new(0));
    let down = Arc::new(AtomicU64::new(0));
    let a = tokio::spawn(direction(cr, sw, link, first_at, up.clone()));
    let b = tokio::spawn(direction(sr, cw, link, Instant::now(), down.clone()));
    let _ = a.await;
    let _ = b.await;
    (up.load(Ordering::Relaxed), down.load(Ordering::Relaxed))
}

/// One direction: read, stamp, and forward each chunk `delay` later (never
/// before `first_at`), then shut the write side down as late.
async fn direction(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    link: Link,
    first_at: Instant,
    count: Arc<AtomicU64>,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Chunk>();
    let reader = tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        // When the paced link is free again.
        let mut free_at = Instant::now();
        loop {
            let n = match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let now = Instant::now();
            let mut sent = now;
            if link.byte_time > 0.0 {
                free_at = free_at.max(now) + Duration::from_secs_f64(n as f64 * link.byte_time);
                sent = free_at;
            }
            let due = (sent + link.delay).max(first_at);
            if tx.send(Chunk::Data(due, buf[..n].to_vec())).is_err() {
                return;
            }
            if free_at > Instant::now() {
                // Back-pressure: read no faster than the link sends.
                tokio::time::sleep_until(free_at).await;
            }
        }
        let _ = tx.send(Chunk::End(
            (free_at.max(Instant::now()) + link.delay).max(first_at),
        ));
    });
    while let Some(chunk) = rx.recv().await {
        match chunk {
            Chunk::Data(due, bytes) => {
                tokio::time::sleep_until(due).await;
                if to.write_all(&bytes).await.is_err() {
                    break;
                }
                count.fetch_add(bytes.len() as u64, Ordering::Relaxed);
            }
            Chunk::End(due) => {
                tokio::time::sleep_until(due).await;
                break;
            }
        }
    }
    let _ = to.shutdown().await;
    reader.abort();
}
