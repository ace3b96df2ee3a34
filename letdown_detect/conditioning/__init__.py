"""Pure streaming stages that turn raw sensor samples into a smoothed flow estimate."""
