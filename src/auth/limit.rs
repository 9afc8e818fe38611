//! Login attempts per client IP address, on top of the per-login throttle (which stops
//! guessing one account's password, not trying one password on many accounts).
//!
//! In memory, per instance: with N instances behind a balancer an address gets N times
//! the quota, which still bounds credential stuffing. The quota is generous because many
//! agents may share one address (carrier-grade NAT, one shop's Wi-Fi). The address is the
//! TCP peer; behind a proxy that is the proxy, so put the limit there instead.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

#[derive(Clone)]
pub struct LoginLimiter(Arc<DefaultKeyedRateLimiter<IpAddr>>);

impl LoginLimiter {
    /// `per_minute` attempts a minute per address, all of them usable in a burst.
    pub fn per_minute(per_minute: u32) -> Self {
        let n = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        LoginLimiter(Arc::new(RateLimiter::keyed(Quota::per_minute(n))))
    }

    /// Ok, or how many seconds until the address may try again.
    pub fn check(&self, ip: IpAddr) -> Result<(), u64> {
        self.0.check_key(&ip).map_err(|not_until| not_until.wait_time_from(DefaultClock::default().now()).as_secs().max(1))
    }
}

impl Default for LoginLimiter {
    fn default() -> Self {
        Self::per_minute(60)
    }
}

impl LoginLimiter {
    /// `check` for the request's TCP peer, as the API's 429 `rate_limited` (`what` names what is limited).
    pub fn check_request(&self, req: &actix_web::HttpRequest, what: &str) -> Result<(), crate::error::AppError> {
        let Some(ip) = req.peer_addr().map(|a| a.ip()) else { return Ok(()) };
        self.check(ip).map_err(|retry_after_secs| {
            crate::error::AppError::new(
                crate::error::ErrorKind::TooManyRequests { retry_after_secs },
                "rate_limited",
                format!("too many {what} from this address; try again in {retry_after_secs} s"),
            )
        })
    }
}
