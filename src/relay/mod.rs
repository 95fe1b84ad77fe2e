//! Relays: handing composed submissions to the SMTP submission server, the sendmail binary or a
//! directory, and classifying what happened. (Filled in by the relay work, issue 3.)
