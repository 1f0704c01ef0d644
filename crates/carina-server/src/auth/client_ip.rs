//! The client address used for login throttling. Behind a reverse proxy
//! every request comes from the proxy, so the proxy's `X-Forwarded-For`
//! names the real client — but anyone can send that header, so it is read
//! only when the connecting peer is one of `trusted_proxies`. The header is
//! then walked from the right (the entry the nearest proxy appended) past
//! every trusted proxy; the first address that is not one is the client.

use std::net::IpAddr;

/// An address range: one address, or `address/prefix-length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct IpRange {
    addr: IpAddr,
    prefix: u8,
}

impl IpRange {
    /// `"10.0.0.0/8"`, `"127.0.0.1"`, `"::1"`, `"fd00::/8"`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or CIDR range"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|&n| n <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Self { addr, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (canonical(self.addr), ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl TryFrom<String> for IpRange {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s)
    }
}

impl std::fmt::Display for IpRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:1.2.3.4`) compare as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// A comma-separated list of ranges (`CARINA_TRUSTED_PROXIES`).
pub fn parse_list(s: &str) -> Result<Vec<IpRange>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(IpRange::parse)
        .collect()
}

/// The client of a request from `peer` carrying the `X-Forwarded-For`
/// values `forwarded` (every header instance, in order).
pub fn client_ip<'a>(
    peer: Option<IpAddr>,
    forwarded: impl IntoIterator<Item = &'a str>,
    trusted: &[IpRange],
) -> Option<IpAddr> {
    let peer = peer.map(canonical)?;
    let is_trusted = |ip: IpAddr| trusted.iter().any(|r| r.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = forwarded
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = canonical(ip);
                if !is_trusted(client) {
                    break;
                }
            }
            // A garbled entry: nothing to its left can be trusted; the last
            // proxy-vouched address stands.
            Err(_) => break,
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn ranges_parse_and_match() {
        let r = IpRange::parse("10.0.0.0/8").unwrap();
        assert!(r.contains(ip("10.200.3.4")));
        assert!(!r.contains(ip("11.0.0.1")));
        assert!(r.contains(ip("::ffff:10.1.1.1")));
        let one = IpRange::parse("127.0.0.1").unwrap();
        assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
        let v6 = IpRange::parse("fd00::/8").unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!(IpRange::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(IpRange::parse("10.0.0.0/33").is_err());
        assert!(IpRange::parse("proxy.local").is_err());
        assert_eq!(parse_list(" 127.0.0.1, ::1 ,").unwrap().len(), 2);
    }

    #[test]
    fn forwarded_for_is_read_only_from_trusted_peers() {
        let trusted = parse_list("127.0.0.1,10.0.0.0/8").unwrap();
        let xff = ["203.0.113.7"];
        // Not behind a trusted proxy: the header is ignored.
        assert_eq!(
            client_ip(Some(ip("198.51.100.1")), xff, &trusted),
            Some(ip("198.51.100.1"))
        );
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), xff, &[]),
            Some(ip("127.0.0.1"))
        );
        // Behind one: the header names the client.
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), xff, &trusted),
            Some(ip("203.0.113.7"))
        );
        // A spoofed left-most entry is skipped: the right-most untrusted one counts.
        assert_eq!(
            client_ip(
                Some(ip("127.0.0.1")),
                ["1.1.1.1, 203.0.113.7, 10.0.0.5"],
                &trusted
            ),
            Some(ip("203.0.113.7"))
        );
        // Several header lines read as one list.
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), ["1.1.1.1", "203.0.113.9"], &trusted),
            Some(ip("203.0.113.9"))
        );
        // Garbage stops the walk at the last good address.
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), ["evil, 10.0.0.5"], &trusted),
            Some(ip("10.0.0.5"))
        );
        assert_eq!(
            client_ip(Some(ip("127.0.0.1")), [], &trusted),
            Some(ip("127.0.0.1"))
        );
        assert_eq!(client_ip(None, xff, &trusted), None);
    }
}
