"""Fetching footage and reference photos from http(s) URLs without becoming an SSRF proxy.

A URL given to the service, the Slack bot or the LangChain tool is chosen by someone else, so
every fetch is treated as hostile:

* only http and https, and (unless ``allow_private``) only hosts whose every address is
  public, checked again on each redirect hop, so a public URL cannot bounce us into the
  private network or the cloud metadata service;
* the connection goes to the very address that was checked (see `policy.Target`), so a DNS answer
  that changes between the check and the connect (DNS rebinding) cannot slip past;
* one deadline covers the whole download, and the size limit is enforced both on the declared
  ``Content-Length`` and on the bytes that actually arrive;
* the body is sniffed by magic bytes, so a sign-in page served where a video was expected is
  reported as such instead of failing later as "corrupt media";
* messages name the URL only in redacted form (`redact_url`): query strings carry tokens.

Three modules: `policy` (which URLs may be fetched, redaction), `sniff` (what bytes are: the
bot needs only this) and `download` (the one implementation, `afetch_to_file`; `fetch_to_file`
runs it on a private event loop, and the module says why).
"""
