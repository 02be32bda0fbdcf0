//! The request side of the tests' loopback HTTP/1.1 servers (upstreams, probed pages, list
//! servers): one request read from a connection, its head and its body.

use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

/// A request as read: its head (request line and headers) in lower case, and its body (as
/// long as its `content-length` says).
pub(super) struct Received {
    pub(super) head: String,
    pub(super) body: Vec<u8>,
}

impl Received {
    /// The request's path.
    pub(super) fn path(&self) -> &str {
        self.head.split(' ').nth(1).unwrap_or("/")
    }
}

/// Reads one request from `stream` (blocking, 5 s at most per read); `None` when the
/// connection ends or fails first.
pub(super) fn read_request(stream: &mut TcpStream) -> Option<Received> {
    stream.set_nonblocking(false).ok();
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let (mut request, mut buffer) = (Vec::new(), [0u8; 4096]);
    let end = loop {
        if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return None,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    };
    let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
    let length = head.lines().find_map(|line| line.strip_prefix("content-length:")).and_then(|value| value.trim().parse::<usize>().ok()).unwrap_or(0);
    let mut body = request[end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return None,
            Ok(n) => body.extend_from_slice(&buffer[..n]),
        }
    }
    Some(Received { head, body })
}
