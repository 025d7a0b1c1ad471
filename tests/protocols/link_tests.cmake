# The link page's pieces: QR codes, the browser's identity, the page itself.
# Debian's OpenCV has no quirc, so the tests decode QR codes with WeChatQRCode
# (opencv_contrib) and use cv::QRCodeDetector to locate them.
find_package(OpenCV 4.6 REQUIRED COMPONENTS core imgproc imgcodecs objdetect wechat_qrcode)
paysync_add_test(protocols_link_tests
  SOURCES
    ${CMAKE_CURRENT_LIST_DIR}/qr_code_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/handset_identity_test.cpp
    ${CMAKE_CURRENT_LIST_DIR}/link_page_test.cpp
  LIBS paysync_protocols opencv_core opencv_imgcodecs opencv_objdetect opencv_wechat_qrcode
  LABELS protocols)
target_include_directories(protocols_link_tests SYSTEM PRIVATE ${OpenCV_INCLUDE_DIRS})
