-- The push service a device's token belongs to: expo, fcm or apns. Devices registered
-- before services other than Expo were taken are Expo devices.

ALTER TABLE push_devices ADD COLUMN provider TEXT NOT NULL DEFAULT 'expo';
