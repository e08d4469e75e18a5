-- Transcoded uploads (vod/transcode, catalog/transcodes.py): an audio-only rendition beside the
-- video ones, and a storyboard for seek previews. Conventions as in 0002.

-- Video renditions have a picture size; the audio rendition (the HLS audio group every video
-- rendition plays with) has none. Existing rows are video renditions.
CREATE TYPE rendition_kind AS ENUM ('video', 'audio');
ALTER TABLE renditions
    ADD COLUMN kind rendition_kind NOT NULL DEFAULT 'video',
    ALTER COLUMN width DROP NOT NULL,
    ALTER COLUMN height DROP NOT NULL,
    ADD CONSTRAINT renditions_size_of_pictures
        CHECK ((kind = 'video') = (width IS NOT NULL AND height IS NOT NULL));

-- The storyboard's WebVTT track (cues point at its sprite sheets, which are thumbnails of kind
-- 'storyboard'): a storage key, with the same rule as playlist_path.
ALTER TABLE videos ADD COLUMN storyboard_path text CHECK (
    storyboard_path ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,127})*$'
    AND octet_length(storyboard_path) <= 1024);
