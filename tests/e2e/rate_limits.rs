//! Rate limits through wrangler dev's simulation of the Rate Limiting binding (miniflare counts
//! in memory, in the same fixed windows the edge uses): queries per client network on the
//! resolver stack, whose `wrangler.e2e.toml` (made by scripts/test.sh from wrangler.toml)
//! allows 300 queries per 10 s per network; failed admin authentications on the
//! authoritative stack, with wrangler.toml's 20 per minute per client.
//!
//! Each test speaks as client addresses no other test uses (`cf-connecting-ip`, which the
//! edge sets and wrangler dev passes through), so the counts are this test's alone.

use super::isolate::{post_with, Exchanged};
use super::*;

/// The resolver stack's port.
fn resolver_port() -> u16 {
    env("EDGEDNS_RESOLVER_HTTP").rsplit(':').next().and_then(|port| port.parse().ok()).expect("EDGEDNS_RESOLVER_HTTP has a port")
}

/// The RCODE and the Extended DNS Error of a DoH exchange.
fn outcome(exchange: &Exchanged) -> Result<(ResponseCode, Option<u16>), String> {
    let (status, body) = exchange.as_ref().map_err(Clone::clone)?;
    if *status != 200 {
        return Err(format!("HTTP {status}"));
    }
    let message = Message::from_vec(body).map_err(|error| error.to_string())?;
    let code = message.edns.as_ref().and_then(|edns| {
        edns.options().options.iter().find_map(|(_, option)| match option {
            hickory_proto::rr::rdata::opt::EdnsOption::Unknown(15, data) => data.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]])),
            _ => None,
        })
    });
    Ok((message.metadata.response_code, code))
}

#[test]
fn a_burst_from_one_network_is_refused_past_the_limit_and_other_networks_are_not() {
    const BURST: usize = 800;
    const LIMIT: usize = 300;
    const THREADS: usize = 16;
    let port = resolver_port();
    // A hosted name: the limit is on queries, not on upstream work.
    let query = query_bytes("www.example.com.", RecordType::A, true);
    let started = std::time::Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|thread| {
            let query = query.clone();
            std::thread::spawn(move || {
                // Every host of 198.18.77.0/24 counts against the same network.
                let headers = format!("cf-connecting-ip: 198.18.77.{}\r\n", thread + 1);
                (0..BURST / THREADS).map(|_| outcome(&post_with(port, &query, &headers))).collect::<Vec<_>>()
            })
        })
        .collect();
    let outcomes: Vec<_> = threads.into_iter().flat_map(|thread| thread.join().unwrap()).collect();
    let elapsed = started.elapsed().as_secs_f64();
    let answered = outcomes.iter().filter(|outcome| matches!(outcome, Ok((ResponseCode::NoError, None)))).count();
    let refused = outcomes.iter().filter(|outcome| matches!(outcome, Ok((ResponseCode::Refused, Some(18))))).count();
    let other: Vec<_> =
        outcomes.iter().filter(|outcome| !matches!(outcome, Ok((ResponseCode::NoError, None)) | Ok((ResponseCode::Refused, Some(18))))).collect();
    assert!(other.is_empty(), "neither answered nor rate limited: {:?}", &other[..other.len().min(5)]);
    assert_eq!(answered + refused, BURST);
    // The windows are fixed 10 s slots: a burst lasting `elapsed` touches at most this many,
    // and each answers at most LIMIT queries of this network.
    let windows = (elapsed / 10.0).floor() as usize + 2;
    assert!(answered >= LIMIT && answered <= LIMIT * windows, "{answered} answered, {refused} refused in {elapsed:.1} s");
    assert!(refused >= BURST.saturating_sub(LIMIT * windows).max(1), "{answered} answered, {refused} refused in {elapsed:.1} s");
    // Another network is not affected, and neither is another family's.
    let elsewhere = outcome(&post_with(port, &query, "cf-connecting-ip: 198.18.78.1\r\n")).unwrap();
    assert_eq!(elsewhere, (ResponseCode::NoError, None));
    let v6 = outcome(&post_with(port, &query, "cf-connecting-ip: 2001:db8:77::1\r\n")).unwrap();
    assert_eq!(v6, (ResponseCode::NoError, None));
}

/// A client that fails the admin token too often gets 429 with `Retry-After`, and then even
/// the right token is refused to it (a guess that happens to be right is not confirmed);
/// other clients are not affected. `/explain`'s token check counts the same way.
#[test]
fn failed_admin_authentications_lock_the_client_out() {
    let base = http_base();
    let client = "cf-connecting-ip: 198.18.90.1";
    let mut statuses = Vec::new();
    // 20 failures a minute are allowed (wrangler.toml); a minute boundary during the loop may
    // allow up to 20 more, so it goes on until three refusals in a row, 45 attempts at most.
    while statuses.len() < 45 && !statuses.ends_with(&[429, 429, 429]) {
        let url = if statuses.len() % 2 == 0 { format!("{base}/admin/health") } else { format!("{base}/explain?name=www.example.org") };
        let exchange = curl(&["-H", client, "-H", "authorization: Bearer wrong-token-0123456789abcdef", &url]);
        if exchange.status == 429 {
            assert_eq!(exchange.header("retry-after"), Some("60"), "{statuses:?}");
        }
        statuses.push(exchange.status);
    }
    let first_429 = statuses.iter().position(|&status| status == 429).unwrap_or_else(|| panic!("never limited: {statuses:?}"));
    assert!((20..=40).contains(&first_429), "{statuses:?}");
    assert!(statuses[..first_429].iter().all(|&status| status == 401), "{statuses:?}");
    assert!(statuses[first_429..].iter().all(|&status| status == 429), "once locked out, every attempt is refused: {statuses:?}");
    let authorization = admin_authorization();
    let right = curl(&["-H", client, "-H", &authorization, &format!("{base}/admin/health")]);
    assert_eq!(right.status, 429, "the right token is refused to a locked-out client");
    let other = curl(&["-H", "cf-connecting-ip: 198.18.90.2", "-H", &authorization, &format!("{base}/admin/health")]);
    assert_eq!(other.status, 200, "{}", String::from_utf8_lossy(&other.body));
}
