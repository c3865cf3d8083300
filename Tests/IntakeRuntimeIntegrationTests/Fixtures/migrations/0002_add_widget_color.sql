ALTER TABLE widgets ADD COLUMN color text NOT NULL DEFAULT 'red';
CREATE INDEX widgets_color ON widgets (color);
