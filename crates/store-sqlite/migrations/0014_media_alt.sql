-- Alt text (issue 27): what an attached image or video shows, in words, for screen
-- readers. It belongs to the attachment, not to the upload: the author writes it when
-- attaching, and a post's row in post_media or the scoop carries it. NULL is none, as
-- for everything posted before.

ALTER TABLE post_media ADD COLUMN alt TEXT;
ALTER TABLE scoops ADD COLUMN media_alt TEXT;
