//! The github webhook function: wiring only; the pipeline lives in `webhook-intake`.

use lambda_runtime::{service_fn, Error};
use webhook_intake::{lambda, App, Provider};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = lambda::init(Provider::GitHub);
    let app = App::connect(config).await;
    lambda_runtime::run(service_fn(|event| lambda::invoke(&app, event))).await
}
