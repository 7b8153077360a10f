backend "gcs" {
  bucket = "states"
}
