"""The browser pages the daemon serves: assets inside the package, no build step, no CDN."""
