//! The request and response as the pipeline sees them, whatever carried them (API Gateway
//! REST or HTTP API, a Function URL, or the local server).

use http::HeaderMap;

#[derive(Clone, Debug, Default)]
pub struct HttpRequest {
    pub method: String,
    /// Names are case-insensitive; repeated headers keep every value.
    pub headers: HeaderMap,
    /// The body bytes exactly as the source host sent them.
    pub body: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

/// A header that must appear at most once and be text appeared twice or was not text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeaderError {
    Repeated,
    NotText,
}

impl HttpRequest {
    /// The one value of header `name` (lowercase), if present, as visible ASCII text.
    pub fn header_once(&self, name: &str) -> Result<Option<&str>, HeaderError> {
        match self.header_bytes_once(name)? {
            None => Ok(None),
            Some(bytes) => std::str::from_utf8(bytes)
                .ok()
                .filter(|s| s.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b)))
                .map(Some)
                .ok_or(HeaderError::NotText),
        }
    }

    /// The one value of header `name`, as the raw bytes it carried.
    pub fn header_bytes_once(&self, name: &str) -> Result<Option<&[u8]>, HeaderError> {
        let mut values = self.headers.get_all(name).iter();
        let Some(first) = values.next() else { return Ok(None) };
        if values.next().is_some() {
            return Err(HeaderError::Repeated);
        }
        Ok(Some(first.as_bytes()))
    }
}
