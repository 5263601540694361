-- The BlurHash of an image, or of a video's poster frame: a placeholder the app draws
-- while the file loads. Set when processing finishes; absent for media processed
-- before this column existed.
ALTER TABLE media ADD COLUMN blurhash TEXT;
