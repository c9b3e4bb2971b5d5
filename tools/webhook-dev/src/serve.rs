//! The three real handlers on one local HTTP port, at their API paths, configured from the
//! same environment as the functions: for curl, a tunnel, or a source host in a lab.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response};
use webhook_intake::http::HttpRequest;
use webhook_intake::{App, Config, Provider};

/// Builds one app per provider from the environment; any configuration error is returned.
pub async fn apps_from_env() -> Result<Vec<(&'static str, Arc<App>)>, String> {
    let mut apps = Vec::new();
    for provider in Provider::ALL {
        let config = Config::from_env(provider).map_err(|e| e.to_string())?;
        apps.push((provider.rules().route, Arc::new(App::connect(config).await)));
    }
    Ok(apps)
}

/// Serves until the process is stopped.
pub async fn serve(addr: SocketAddr, apps: Vec<(&'static str, Arc<App>)>) -> Result<(), String> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| format!("{addr}: {e}"))?;
    eprintln!("listening on http://{}", listener.local_addr().map_err(|e| e.to_string())?);
    for (route, _) in &apps {
        eprintln!("  POST {route}");
    }
    let apps = Arc::new(apps);
    loop {
        let (stream, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let apps = apps.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let apps = apps.clone();
                async move { Ok::<_, Infallible>(handle(&apps, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn handle(apps: &[(&'static str, Arc<App>)], req: Request<Incoming>) -> Response<Full<Bytes>> {
    let Some((_, app)) = apps.iter().find(|(route, _)| *route == req.uri().path()) else {
        return json(404, r#"{"error":"no webhook at this path"}"#.to_owned(), vec![]);
    };
    let (parts, body) = req.into_parts();
    let limit = app.config().max_body_bytes;
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes().to_vec(),
        Err(_) => {
            let r = webhook_intake::response::Outcome::TooLarge.response();
            return json(r.status, r.body, r.headers);
        }
    };
    let request = HttpRequest { method: parts.method.to_string(), headers: parts.headers, body };
    let r = app.handle(&request).await;
    json(r.status, r.body, r.headers)
}

fn json(status: u16, body: String, headers: Vec<(&'static str, String)>) -> Response<Full<Bytes>> {
    let mut response = Response::builder().status(status);
    for (name, value) in headers {
        response = response.header(name, value);
    }
    response
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("status and headers come from the pipeline")
}
