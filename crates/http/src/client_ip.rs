//! The client's address: the TCP peer, or, when the peer is a trusted proxy, the last
//! `X-Forwarded-For` hop that is not itself trusted (earlier hops are client-written).

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Works out the client address of a request.
pub fn client_ip(parts: &Parts, trusted: &[IpAddr]) -> IpAddr {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>();
    hops.into_iter()
        .rev()
        .find(|ip| !trusted.contains(ip))
        .unwrap_or(peer)
}

/// Extractor for the client address of the request (see [`client_ip`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl<S> axum::extract::FromRequestParts<S> for ClientIp
where
    crate::AppContext: axum::extract::FromRef<S>,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let ctx = <crate::AppContext as axum::extract::FromRef<S>>::from_ref(state);
        Ok(Self(client_ip(parts, &ctx.trusted_proxies)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Request;

    fn parts(peer: &str, xff: Option<&str>) -> Parts {
        let mut b = Request::builder();
        if let Some(x) = xff {
            b = b.header("x-forwarded-for", x);
        }
        let (mut parts, ()) = b.body(()).expect("request").into_parts();
        let addr: SocketAddr = format!("{peer}:1234").parse().expect("addr");
        parts.extensions.insert(ConnectInfo(addr));
        parts
    }

    #[test]
    fn forwarded_headers_from_untrusted_peers_are_ignored() {
        let p = parts("203.0.113.9", Some("1.2.3.4"));
        assert_eq!(
            client_ip(&p, &[]),
            "203.0.113.9".parse::<IpAddr>().expect("ip")
        );
    }

    #[test]
    fn behind_a_trusted_proxy_the_last_untrusted_hop_counts() {
        let proxy: IpAddr = "127.0.0.1".parse().expect("ip");
        let p = parts("127.0.0.1", Some("6.6.6.6, 198.51.100.7"));
        assert_eq!(
            client_ip(&p, &[proxy]),
            "198.51.100.7".parse::<IpAddr>().expect("ip")
        );
    }
}
