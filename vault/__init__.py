"""The core: database and unit of work, evidence items and cases, accounts, write-once stores
(filesystem, S3), media probing and renditions (ffmpeg), alerts, the vault's PKI, and the one
document kit every bilingual PDF is made with."""
