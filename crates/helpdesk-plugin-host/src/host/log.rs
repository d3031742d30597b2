//! `helpdesk:plugin/log`: logging into the host's `tracing`, tagged with the plugin's id and
//! install, bounded in lines per call and bytes per line.

use crate::bindings::v0_1::helpdesk::plugin::log::{Host, Level};
use crate::sandbox::{HostState, MAX_LOG_BYTES, MAX_LOG_LINES, truncate};

impl Host for HostState {
    fn log(&mut self, level: Level, message: String) {
        self.call.logs = self.call.logs.saturating_add(1);
        let plugin = self.ctx.plugin.as_str();
        let install = self.ctx.install.get();
        if self.call.logs > MAX_LOG_LINES {
            if self.call.logs == MAX_LOG_LINES + 1 {
                tracing::warn!(
                    plugin,
                    install,
                    "log limit reached; further lines of this call are dropped"
                );
            }
            return;
        }
        let message = truncate(&message, MAX_LOG_BYTES);
        match level {
            Level::Trace => tracing::trace!(plugin, install, "{message}"),
            Level::Debug => tracing::debug!(plugin, install, "{message}"),
            Level::Info => tracing::info!(plugin, install, "{message}"),
            Level::Warn => tracing::warn!(plugin, install, "{message}"),
            Level::Error => tracing::error!(plugin, install, "{message}"),
        }
    }
}
